"""A seeded district: homes with elders and their buttons and wearables, care homes with floors,
rooms, residents and smoke detectors; contacts for everyone; the civil-affairs grid (city ->
district -> street -> community) every site sits in, and each resident's register entry (care
setting, need categories, blood type, allergies, doctor).

The register is drawn from its own random stream, so adding to it never changes the devices,
residents and names an older seed produced. The service providers (issue 9) and which home
buttons take a double press as a service request draw on no random stream at all.

>>> d = District.generate(seed=1, homes=3, care_homes=1)
>>> len(d.sites), d.sites[0].id
(4, 'home-0001')
>>> District.generate(seed=1, homes=3, care_homes=1) == d
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from store.registry import DeviceRef

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN_F = ["秀英", "桂英", "玉兰", "淑珍", "凤英", "兰英", "秀兰", "玉珍", "桂兰", "淑兰"]
_GIVEN_M = ["建国", "德明", "志强", "国华", "振华", "文斌", "树林", "永福", "宝山", "长青"]
_COMMUNITIES = ["幸福里社区", "和平路社区", "长青社区", "东湖社区", "春晖社区", "向阳社区"]
_STREETS = ["解放路", "人民路", "建设路", "中山路", "和平街", "文化路"]
_CONDITIONS = ["高血压", "糖尿病", "冠心病", "慢阻肺", "阿尔茨海默病早期", "骨质疏松", "帕金森病"]
_MEDICATIONS = ["氨氯地平", "二甲双胍", "阿司匹林", "阿托伐他汀", "多奈哌齐", "左旋多巴"]
_MOBILITY = ["独立行走", "使用拐杖", "使用助行器", "轮椅"]
_RELATIONS = ["女儿", "儿子", "儿媳", "女婿", "侄子", "邻居"]
_ALLERGIES = ["青霉素", "磺胺类", "海鲜", "花粉", "阿司匹林"]
_BLOOD = (["A", "B", "O", "AB"], [0.28, 0.30, 0.31, 0.11])  # approximate shares among Han Chinese
_DOCTORS = ["张", "王", "李", "赵", "孙"]

# The grid: one city, two districts, three streets, the six communities the sites are drawn from.
_CITY = ("city-01", "示范市")
_DISTRICTS = (("dist-01", "东湖区"), ("dist-02", "西山区"))
_GRID_STREETS = (("st-01", "dist-01", "解放路街道"), ("st-02", "dist-01", "人民路街道"),
                 ("st-03", "dist-02", "中山路街道"))
_COMMUNITY_STREET = ("st-01", "st-01", "st-02", "st-02", "st-03", "st-03")


# Service providers: meals per district, housekeeping and repairs for the whole city,
# companionship and medical escorts per street (st-03's covers companionship only, so escorts
# there wait, unrouted, for grid staff to find someone).
_MEALS = (("meal-dist-01", "东湖区长者食堂", "dist-01"), ("meal-dist-02", "西山区助餐点", "dist-02"))
_HOME_CARE = ("home-city-01", "示范市家政维修服务中心", ("housekeeping", "repair", "other"))
_COMPANIONS = (("care-st-01", "解放路街道助老服务站", ("companionship", "medical_escort")),
               ("care-st-02", "人民路街道助老服务站", ("companionship", "medical_escort")),
               ("care-st-03", "中山路街道志愿者协会", ("companionship",)))
_HOME_SERVICE = ("housekeeping", "meal", "companionship", "repair")
"""What a double press asks for, home by home: the service configured on the button."""
DOUBLE_PRESS_EVERY = 4
"""Every fourth home's button (btn-0001, btn-0005, ...) takes a double press as a service request."""
PLACE_EVERY = 3
"""Every third elder at home with a watch (the first, the fourth, ...) has a son's or daughter's
flat as a safe place besides home, where they sometimes stay the night (migration 0031)."""
_FAMILY_HOMES = ("女儿家", "儿子家")
GATEWAY_EVERY = 3
"""With ``home_gateways``, every third home (home-0002, home-0005, ...) has a zigbee kit: a home
gateway on the flat's broadband, through which its pendant and a smoke detector reach the
platform (docs/gateway.md). Those homes' elders are cut off when the line is."""


def community_id(name: str) -> str:
    """The grid node of one of the simulator's communities."""
    return f"cm-{_COMMUNITIES.index(name) + 1:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgNode:
    id: str
    parent_id: str | None
    level: str
    name: str


def grid() -> list[OrgNode]:
    """The simulated city's grid, parents before children."""
    nodes = [OrgNode(id=_CITY[0], parent_id=None, level="city", name=_CITY[1])]
    nodes += [OrgNode(id=i, parent_id=_CITY[0], level="district", name=n) for i, n in _DISTRICTS]
    nodes += [OrgNode(id=i, parent_id=p, level="street", name=n) for i, p, n in _GRID_STREETS]
    nodes += [OrgNode(id=community_id(n), parent_id=_COMMUNITY_STREET[k], level="community", name=n)
              for k, n in enumerate(_COMMUNITIES)]
    return nodes


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    id: str
    name: str
    phone: str
    types: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderArea:
    provider_id: str
    node_id: str


def providers() -> tuple[list[Provider], list[ProviderArea]]:
    """The simulated city's service providers and the grid nodes each serves."""
    found: list[Provider] = []
    areas: list[ProviderArea] = []
    serving: list[tuple[str, str, tuple[str, ...], str]] = [
        (pid, name, ("meal",), node) for pid, name, node in _MEALS]
    serving.append((_HOME_CARE[0], _HOME_CARE[1], _HOME_CARE[2], _CITY[0]))
    serving += [(pid, name, types, pid.removeprefix("care-")) for pid, name, types in _COMPANIONS]
    for k, (pid, name, types, node) in enumerate(serving, start=1):
        found.append(Provider(id=pid, name=name, phone=f"021-6234{k:04d}", types=list(types)))
        areas.append(ProviderArea(provider_id=pid, node_id=node))
    return found, areas


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    id: str
    kind: str
    name: str
    address: str
    community: str
    lat: float
    lon: float
    node_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Room:
    id: str
    site_id: str
    floor: int
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Resident:
    id: str
    site_id: str
    room_id: str | None
    name: str
    birth_year: int
    sex: str
    phone: str
    conditions: list[str]
    medications: list[str]
    mobility: str
    notes: str
    needs: list[str]
    allergies: list[str]
    blood_type: str
    doctor: str
    doctor_phone: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    id: int
    resident_id: str
    name: str
    relation: str
    phone: str
    email: str
    priority: int
    keyholder: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A safe place besides home (``resident_places``): 2-3 km north of the elder's home."""

    resident_id: str
    name: str
    lat: float
    lon: float
    radius_m: float = 200.0
    changed_by: str = "seed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    id: str
    site_id: str
    kind: str  # button, smoke, wearable
    model: str
    resident_id: str | None
    room_id: str | None
    service_press: str = "none"
    """none, second_key or double_press: which presses ask for a service (docs/services.md)."""
    service_type: str = "other"
    via: str | None = None
    """The gateway it reaches the platform through (a home kit's zigbee devices); None: by
    itself."""


def day_care_centres() -> tuple[list[Site], list[Device]]:
    """One community day-care centre (社区日间照料中心) per community, each with a health kiosk
    that takes the check-ups of the community's elders. Placed by rule, not drawn."""
    sites, devices = [], []
    for k, name in enumerate(_COMMUNITIES, start=1):
        site = Site(id=f"daycare-{k:02d}", kind="day_care", name=f"{name}日间照料中心",
                    address=f"{name}服务中心", community=name,
                    lat=round(31.20 + 0.1 * k / (len(_COMMUNITIES) + 1), 6), lon=121.45,
                    node_id=community_id(name))
        sites.append(site)
        devices.append(Device(id=f"kiosk-{k:02d}", site_id=site.id, kind="kiosk",
                              model="HK-300 health kiosk", resident_id=None, room_id=None))
    return sites, devices


@dataclass(frozen=True, slots=True, kw_only=True)
class District:
    nodes: list[OrgNode]
    sites: list[Site]
    rooms: list[Room]
    residents: list[Resident]
    contacts: list[Contact]
    devices: list[Device]
    providers: list[Provider] = field(default_factory=list)
    provider_areas: list[ProviderArea] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)

    @classmethod
    def generate(cls, *, seed: int, homes: int, care_homes: int,
                 wearable_share: float = 0.5, day_cares: bool = False,
                 home_gateways: bool = False) -> District:
        """``day_cares``: add a day-care centre with a health kiosk in every community
        (:func:`day_care_centres`); ``home_gateways``: give every ``GATEWAY_EVERY``-th home a
        zigbee kit (a gateway, and a smoke detector besides the pendant, both through it).
        Neither makes a random draw, so the rest is the same either way."""
        rng = np.random.default_rng(seed)
        b = _Builder(rng, np.random.default_rng([seed, 9064]))
        for i in range(1, homes + 1):
            b.home(i, wearable=rng.random() < wearable_share,
                   kit=home_gateways and i % GATEWAY_EVERY == 2)
        for i in range(1, care_homes + 1):
            b.care_home(i)
        if day_cares:
            centres, kiosks = day_care_centres()
            b.sites += centres
            b.devices += kiosks
        found, areas = providers()
        return cls(nodes=grid(), sites=b.sites, rooms=b.rooms, residents=b.residents, contacts=b.contacts,
                   devices=b.devices, providers=found, provider_areas=areas,
                   places=family_places(b.sites, b.devices))

    def device_refs(self) -> dict[str, DeviceRef]:
        """The devices (kiosks aside) as ingest reads them from the registry once seeded: for
        the benches and tests that run the welfare stage without a database."""
        from store.registry import DeviceRef

        sites = {s.id: s for s in self.sites}
        return {d.id: DeviceRef(id=d.id, site_id=d.site_id, kind=d.kind, resident_id=d.resident_id,
                                room_id=d.room_id, site_kind=sites[d.site_id].kind,
                                site_lat=sites[d.site_id].lat, site_lon=sites[d.site_id].lon,
                                via=d.via, site_community=sites[d.site_id].community)
                for d in self.devices if d.kind != "kiosk"}

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Rows for the store's seeder, keyed by table."""
        return {
            "org_nodes": [asdict(n) for n in self.nodes],
            "service_providers": [asdict(p) for p in self.providers],
            "provider_areas": [asdict(a) for a in self.provider_areas],
            "sites": [asdict(s) for s in self.sites],
            "rooms": [asdict(r) for r in self.rooms],
            "residents": [asdict(r) for r in self.residents],
            "contacts": [asdict(c) for c in self.contacts],
            "devices": [asdict(d) for d in self.devices],
            "resident_places": [asdict(p) for p in self.places],
        }


def family_places(sites: list[Site], devices: list[Device]) -> list[Place]:
    """Every ``PLACE_EVERY``-th elder at home with a watch gets a son's or daughter's flat, 2-3 km
    north of their home. Placed by rule, not drawn, so the rest of a seed is as it was."""
    homes = {s.id: s for s in sites if s.kind == "home"}
    wearers = [d for d in devices if d.kind == "wearable" and d.site_id in homes and d.resident_id]
    places = []
    for k, watch in enumerate(wearers[::PLACE_EVERY]):
        home = homes[watch.site_id]
        assert watch.resident_id is not None
        places.append(Place(resident_id=watch.resident_id, name=_FAMILY_HOMES[k % 2],
                            lat=round(home.lat + 0.02 + 0.001 * (k % 10), 6), lon=home.lon))
    return places


class _Builder:
    def __init__(self, rng: np.random.Generator, register: np.random.Generator) -> None:
        self.rng = rng
        self.register = register
        self.sites: list[Site] = []
        self.rooms: list[Room] = []
        self.residents: list[Resident] = []
        self.contacts: list[Contact] = []
        self.devices: list[Device] = []

    def _pick(self, items: list[str], k: int) -> list[str]:
        return [str(x) for x in self.rng.choice(items, size=k, replace=False)]

    def _resident(self, rid: str, site: Site, room: Room | None) -> Resident:
        rng = self.rng
        sex = "F" if rng.random() < 0.6 else "M"  # women outnumber men among the oldest old
        given = _GIVEN_F if sex == "F" else _GIVEN_M
        name = str(rng.choice(list(_SURNAMES))) + str(rng.choice(given))
        birth_year = int(rng.integers(1930, 1956))
        phone = f"13{rng.integers(0, 10**9):09d}"
        conditions = self._pick(_CONDITIONS, int(rng.integers(0, 3)))
        medications = self._pick(_MEDICATIONS, int(rng.integers(0, 3)))
        mobility = str(rng.choice(_MOBILITY, p=[0.5, 0.25, 0.15, 0.1]))
        notes = "钥匙在邻居处" if rng.random() < 0.3 else ""
        resident = Resident(
            id=rid, site_id=site.id, room_id=room.id if room else None, name=name,
            birth_year=birth_year, sex=sex, phone=phone, conditions=conditions,
            medications=medications, mobility=mobility, notes=notes,
            **self._register(site, mobility),
        )
        self.residents.append(resident)
        for priority in (1, 2)[: int(rng.integers(1, 3))]:
            surname = name[0] if rng.random() < 0.7 else str(rng.choice(list(_SURNAMES)))
            self.contacts.append(Contact(
                id=len(self.contacts) + 1, resident_id=rid,
                name=surname + str(rng.choice(_GIVEN_F + _GIVEN_M)),
                relation=str(rng.choice(_RELATIONS)), phone=f"13{rng.integers(0, 10**9):09d}",
                email=f"family{len(self.contacts) + 1}@example.com", priority=priority,
                keyholder=priority == 1))
        return resident

    def _register(self, site: Site, mobility: str) -> dict[str, Any]:
        """The civil-affairs register entry; high age (80+) is not stored: it follows the birth year."""
        reg = self.register
        needs = []
        if site.kind == "home":
            if reg.random() < 0.35:
                needs.append("living_alone")
            elif reg.random() < 0.4:
                needs.append("empty_nest")
        if mobility == "轮椅":
            needs.append("disabled")
        elif mobility == "使用助行器":
            needs.append("partly_disabled")
        if reg.random() < 0.1:
            needs.append("low_income")
        if reg.random() < 0.02:
            needs.append("five_guarantee")
        doctor = str(reg.choice(_DOCTORS))
        return {
            "needs": needs,
            "allergies": [str(a) for a in reg.choice(_ALLERGIES, size=int(reg.random() < 0.2),
                                                      replace=False)],
            "blood_type": str(reg.choice(_BLOOD[0], p=_BLOOD[1])),
            "doctor": f"{site.community}卫生服务站 {doctor}医生",
            "doctor_phone": f"021-{reg.integers(0, 10**8):08d}",
        }

    def _site(self, sid: str, kind: str, name: str) -> Site:
        rng = self.rng
        site = Site(id=sid, kind=kind, name=name,
                    address=f"{rng.choice(_STREETS)}{rng.integers(1, 400)}号",
                    community=str(rng.choice(_COMMUNITIES)),
                    lat=round(31.20 + rng.uniform(0, 0.1), 6),
                    lon=round(121.40 + rng.uniform(0, 0.1), 6), node_id="")
        site = replace(site, node_id=community_id(site.community))
        self.sites.append(site)
        return site

    def home(self, i: int, *, wearable: bool, kit: bool = False) -> None:
        site = self._site(f"home-{i:04d}", "home", f"居家 {i:04d}")
        resident = self._resident(f"r-h{i:04d}", site, None)
        double = i % DOUBLE_PRESS_EVERY == 1
        gateway = f"gw-{i:04d}" if kit else None
        if gateway:  # first: the registry checks that a device's gateway exists
            self.devices.append(Device(id=gateway, site_id=site.id, kind="gateway",
                                       model="ZG-1 home gateway", resident_id=None, room_id=None))
        self.devices.append(Device(
            id=f"btn-{i:04d}", site_id=site.id, kind="button",
            model="SOS-Z1 zigbee pendant" if kit else "SOS-P1 pendant",
            resident_id=resident.id, room_id=None,
            service_press="double_press" if double else "none",
            service_type=_HOME_SERVICE[(i // DOUBLE_PRESS_EVERY) % len(_HOME_SERVICE)]
            if double else "other", via=gateway))
        if gateway:
            self.devices.append(Device(id=f"smoke-h{i:04d}", site_id=site.id, kind="smoke",
                                       model="JTY-GD-Z5 zigbee smoke detector",
                                       resident_id=resident.id, room_id=None, via=gateway))
        if wearable:
            self.devices.append(Device(id=f"watch-{i:04d}", site_id=site.id, kind="wearable",
                                       model="W2 watch", resident_id=resident.id, room_id=None))

    def care_home(self, i: int) -> None:
        site = self._site(f"care-{i:02d}", "care_home", f"第{i}养老院")
        for floor in (1, 2, 3):
            for number in range(1, 9):
                room = Room(id=f"{site.id}-{floor}{number:02d}", site_id=site.id, floor=floor,
                            name=f"{floor}{number:02d}")
                self.rooms.append(room)
                self.devices.append(Device(id=f"smoke-{room.id}", site_id=site.id, kind="smoke",
                                           model="JTY-GD-H361", resident_id=None, room_id=room.id))
                for bed in range(1, int(self.rng.integers(1, 3)) + 1):
                    resident = self._resident(f"r-{room.id}-{bed}", site, room)
                    self.devices.append(Device(
                        id=f"btn-{room.id}-{bed}", site_id=site.id, kind="button",
                        model="wall button", resident_id=resident.id, room_id=room.id))
