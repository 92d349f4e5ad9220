// What the admin manages, as data: for each kind of record, where it is listed and created,
// which columns the list shows and which fields the form asks for. views/admin.js draws any of
// them the same way, so a new kind of record is a new entry here, not new drawing code.

const SEX = ["F", "M", "X"];
const DEVICE_KINDS = ["button", "smoke", "wearable", "gateway", "radar", "door", "pir", "bed"];
const SITE_KINDS = ["home", "care_home", "day_care"];
const ROLES = ["operator", "supervisor", "care_staff", "family", "admin"];
const LANGS = ["zh-CN", "en"];

export const ENTITIES = [
  {
    name: "residents",
    path: "/api/v1/admin/residents",
    key: "id",
    columns: ["id", "name", "site_id", "room_id", "birth_year", "phone"],
    fields: [
      { name: "id", required: true },
      { name: "site_id", required: true },
      { name: "name", required: true },
      { name: "birth_year", type: "number", min: 1900, max: 2030 },
      { name: "sex", options: SEX },
      { name: "phone", type: "tel" },
      { name: "room_id" },
      // the resident's own night, if not the centre's 22:00-07:00 (both or neither)
      { name: "asleep_from", type: "number", min: 0, max: 23 },
      { name: "up_by", type: "number", min: 0, max: 23 },
    ],
    // Extra forms that act on one existing record, addressed by its id.
    subforms: [{
      name: "edit",
      path: (id) => `/api/v1/admin/residents/${encodeURIComponent(id)}`,
      method: "PUT",
      // Only what is filled in changes; an empty field leaves the record as it is.
      fields: [
        { name: "resident_id", required: true, target: true },
        { name: "name" },
        { name: "phone", type: "tel" },
        { name: "room_id" },
        { name: "conditions", type: "list" },
        { name: "medications", type: "list" },
        { name: "mobility" },
        { name: "notes" },
      ],
    }, {
      // The resident's own night, apart: both hours empty give back the centre's night
      // (22:00-07:00), which the "edit" form's "empty changes nothing" could not say.
      name: "night",
      path: (id) => `/api/v1/admin/residents/${encodeURIComponent(id)}`,
      method: "PUT",
      nullable: true,
      fields: [
        { name: "resident_id", required: true, target: true },
        { name: "asleep_from", type: "number", min: 0, max: 23 },
        { name: "up_by", type: "number", min: 0, max: 23 },
      ],
    }, {
      // The home's safe radius, apart for the same reason: empty gives back the default 300 m.
      name: "radius",
      path: (id) => `/api/v1/admin/residents/${encodeURIComponent(id)}`,
      method: "PUT",
      nullable: true,
      fields: [
        { name: "resident_id", required: true, target: true },
        { name: "safe_radius_m", type: "number", min: 50, max: 5000 },
      ],
    }, {
      // Safe places besides home (migration 0031): where the geofence lets them be at night.
      name: "place",
      path: (id, parts) => `/api/v1/admin/residents/${encodeURIComponent(id)}/places/${encodeURIComponent(parts.place)}`,
      method: "PUT",
      fields: [
        { name: "resident_id", required: true, target: true },
        { name: "place", required: true, inPath: true },
        { name: "lat", type: "number", step: "any", min: -90, max: 90, required: true },
        { name: "lon", type: "number", step: "any", min: -180, max: 180, required: true },
        { name: "radius_m", type: "number", min: 50, max: 5000 },
        // a stay ends (migration 0032): empty is a lasting place
        { name: "ends_at", type: "datetime-local" },
      ],
    }, {
      name: "unplace",
      path: (id, parts) => `/api/v1/admin/residents/${encodeURIComponent(id)}/places/${encodeURIComponent(parts.place)}`,
      method: "DELETE",
      fields: [
        { name: "resident_id", required: true, target: true },
        { name: "place", required: true, inPath: true },
      ],
    }, {
      name: "contact",
      path: (id) => `/api/v1/admin/residents/${encodeURIComponent(id)}/contacts`,
      method: "POST",
      fields: [
        { name: "resident_id", required: true, target: true },
        { name: "name", required: true },
        { name: "relation", required: true },
        { name: "phone", type: "tel" },
        { name: "email", type: "email" },
        { name: "priority", type: "number", min: 1, max: 9 },
        { name: "keyholder", type: "checkbox" },
      ],
    }],
  },
  {
    name: "devices",
    path: "/api/v1/admin/devices",
    key: "id",
    columns: ["id", "kind", "model", "site_id", "resident_id", "room_id", "via", "battery", "retired_at"],
    fields: [
      { name: "id", required: true },
      { name: "site_id", required: true },
      { name: "kind", required: true, options: DEVICE_KINDS },
      { name: "model" },
      { name: "resident_id" },
      { name: "room_id" },
      // the home gateway a zigbee button or detector speaks through (migration 0034): with it,
      // the gateway's line cut is the elder cut off at once, not a day later
      { name: "via" },
    ],
    subforms: [{
      name: "assign",
      path: (id) => `/api/v1/admin/devices/${encodeURIComponent(id)}`,
      method: "PUT",
      // Empty means "not assigned": a device moved from a resident to a room clears the other.
      nullable: true,
      fields: [
        { name: "device_id", required: true, target: true },
        { name: "resident_id" },
        { name: "room_id" },
      ],
    }],
    rowActions: [{ name: "retire", path: (id) => `/api/v1/admin/devices/${encodeURIComponent(id)}/retire`, confirm: true }],
  },
  {
    name: "sites",
    path: "/api/v1/admin/sites",
    key: "id",
    columns: ["id", "kind", "name", "address", "community"],
    fields: [
      { name: "id", required: true },
      { name: "kind", required: true, options: SITE_KINDS },
      { name: "name", required: true },
      { name: "address" },
      { name: "community" },
      { name: "lat", type: "number", step: "any" },
      { name: "lon", type: "number", step: "any" },
    ],
  },
  {
    name: "users",
    path: "/api/v1/admin/users",
    key: "username",
    columns: ["username", "display_name", "role", "scope_site", "scope_resident", "lang"],
    fields: [
      { name: "username", required: true },
      { name: "display_name", required: true },
      { name: "role", required: true, options: ROLES },
      { name: "password", type: "password", required: true },
      { name: "scope_site" },
      { name: "scope_resident" },
      { name: "lang", options: LANGS },
    ],
  },
];

export const IMPORTS = [
  { name: "residents", path: "/api/v1/admin/import/residents", columns: "id,site_id,name,birth_year,sex,phone,room_id" },
  { name: "devices", path: "/api/v1/admin/import/devices", columns: "id,site_id,kind,model,resident_id,room_id,via" },
];
