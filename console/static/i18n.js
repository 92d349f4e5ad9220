// Every string a person reads on the console, in both languages the centre works in (the
// sentences live in strings-zh.js and strings-en.js; the names of things are below).
// Keys are flat and dotted so a missing one is easy to grep; t() falls back to English and
// then to the key itself, so a forgotten translation shows up as text rather than as a blank.

import { EN } from "./strings-en.js";
import { ZH } from "./strings-zh.js";

export const STRINGS = { "zh-CN": ZH, en: EN };

// Names of alarm kinds, device kinds, event types, mobility levels, incident statuses,
// outcomes, responders, timeline actions, detector states, maintenance problems and channels.
// A value the table does not know is shown raw (see label()), so a new kind added on the
// server is never hidden.
export const TERMS = {
  "zh-CN": {
    kind: {
      sos: "紧急呼叫 SOS", smoke: "烟雾报警", fall: "跌倒", fire: "火警",
      heart_rate: "心率异常", spo2: "血氧过低", inactivity: "长时间无活动",
      low_battery: "电量低", tamper: "防拆报警", fault: "设备故障", offline: "设备离线",
      no_checkin: "未按时签到", cancel: "取消", test: "测试", clear: "解除",
      checkin: "签到", battery: "电量", off_wrist: "未佩戴", location: "定位",
      vitals_critical: "生命体征危急", vitals_deviation: "生命体征异常", wandering: "离开安全区域",
      welfare_check: "紧急设备全部失联", site_silent: "场所设备集体失联", maintenance: "设备维护",
      area_outage: "片区网络中断",
    },
    device: { button: "一键呼叫按钮", smoke_detector: "烟雾探测器", smoke: "烟雾探测器", wearable: "穿戴设备", watch: "手表", band: "手环", kiosk: "健康自助体检机", staff_entry: "人工录入", gateway: "家庭网关", radar: "跌倒雷达", door: "门磁", pir: "人体感应器", bed: "床垫传感器" },
    mobility: { independent: "可自理", walker: "使用助行器", cane: "使用拐杖", wheelchair: "轮椅", bedridden: "卧床" },
    status: { new: "等待处理", claimed: "已接手", in_progress: "处理中", dispatched: "已派遣", on_site: "已到场", resolved: "已结案" },
    outcome: { genuine: "真实求助", false_alarm: "误报", test: "测试", accidental: "误触", no_answer_escalated: "无人应答已升级", device_fault: "设备故障", self_cleared: "设备已恢复，自动结案" },
    responder: { family: "家属", community_responder: "社区应急员", care_staff: "护理员", ambulance_120: "120 急救", fire_119: "119 消防", police_110: "110 报警" },
    action: { claim: "接手", release: "放回队列", call: "回拨", dispatch: "派遣", on_site: "到场", resolve: "结案", reopen: "重新打开", note: "备注", opened: "事件发起", alarm_joined: "又一条报警", unclaimed_60s: "60 秒无人接手，已通知班长", unclaimed_180s: "180 秒无人接手，再次升级", family_window_over: "家属未处理，转中心", help_did_not_arrive: "救援未按时到达", self_cleared: "设备已恢复，自动结案", healthy_again: "设备已恢复（仍由经办人结案）" },
    detector: { clear: "正常", smoke: "烟雾", fault: "故障", test: "测试" },
    problem: { battery_low: "电量低", no_checkin: "未签到", fault: "故障", tamper: "被拆", offline: "离线", low_battery: "电量低",
      welfare_check: "紧急设备全部失联", site_silent: "场所多台设备同时失联", area_outage: "社区多户网关同时离线", clock_wrong: "时钟有误（读数被拒收）", clock_corrected: "时钟有误（读数已按平台时间校正，请校准时钟）" },
    vital: { heart_rate: "心率", spo2: "血氧", skin_temperature: "皮肤温度", bp_systolic: "收缩压", bp_diastolic: "舒张压", glucose: "血糖", weight: "体重", temperature: "体温" },
    finding: { above_bound: "高于上限", below_bound: "低于下限", deviation: "偏离本人常态", drift_up: "缓慢上升", drift_down: "缓慢下降" },
    channel: { sms: "短信", email: "邮件" },
    service: { "ingest-alarms": "报警接收", "ingest-streams": "设备数据流", escalator: "超时升级", notifier: "家属通知" },
  },
  en: {
    kind: {
      sos: "Emergency call (SOS)", smoke: "Smoke alarm", fall: "Fall", fire: "Fire",
      heart_rate: "Heart rate", spo2: "Low SpO2", inactivity: "Inactivity",
      low_battery: "Low battery", tamper: "Tamper", fault: "Device fault", offline: "Device offline",
      no_checkin: "Missed check-in", cancel: "Cancel", test: "Test", clear: "Clear",
      checkin: "Check-in", battery: "Battery", off_wrist: "Off wrist", location: "Location",
      vitals_critical: "Critical vital signs", vitals_deviation: "Vital signs unusual",
      wandering: "Left the safe zone", welfare_check: "All emergency devices silent",
      site_silent: "Site's devices silent",
      area_outage: "Area network outage",
      maintenance: "Device maintenance",
    },
    device: { button: "Emergency button", smoke_detector: "Smoke detector", smoke: "Smoke detector", wearable: "Wearable", watch: "Watch", band: "Band", kiosk: "Health kiosk", staff_entry: "Staff entry", gateway: "Home gateway", radar: "Fall radar", door: "Door contact", pir: "Motion sensor", bed: "Bed sensor" },
    mobility: { independent: "Independent", walker: "Walker", cane: "Cane", wheelchair: "Wheelchair", bedridden: "Bedridden" },
    status: { new: "Waiting", claimed: "Claimed", in_progress: "In progress", dispatched: "Dispatched", on_site: "On site", resolved: "Resolved" },
    outcome: { genuine: "Genuine", false_alarm: "False alarm", test: "Test", accidental: "Accidental", no_answer_escalated: "No answer, escalated", device_fault: "Device fault", self_cleared: "Cleared itself (device healthy again)" },
    responder: { family: "Family", community_responder: "Community responder", care_staff: "Care staff", ambulance_120: "Ambulance (120)", fire_119: "Fire brigade (119)", police_110: "Police (110)" },
    action: { claim: "Claimed", release: "Released", call: "Called back", dispatch: "Dispatched", on_site: "On site", resolve: "Resolved", reopen: "Reopened", note: "Note", opened: "Opened", alarm_joined: "Another alarm joined", unclaimed_60s: "Unclaimed 60 s, supervisor alerted", unclaimed_180s: "Unclaimed 180 s, escalated again", family_window_over: "Family did not act, passed to the centre", help_did_not_arrive: "Help did not arrive in time", self_cleared: "Device healthy again: closed itself", healthy_again: "Device healthy again (left to whoever has it)" },
    detector: { clear: "clear", smoke: "SMOKE", fault: "fault", test: "test" },
    problem: { battery_low: "Battery low", no_checkin: "No check-in", fault: "Fault", tamper: "Tamper", offline: "Offline", low_battery: "Battery low",
      welfare_check: "All emergency devices silent", site_silent: "Many of the site's devices silent together", area_outage: "Gateways of several homes down together", clock_wrong: "Clock wrong (readings refused)", clock_corrected: "Clock wrong (readings placed by the platform's clock; set it)" },
    vital: { heart_rate: "Heart rate", spo2: "SpO2", skin_temperature: "Skin temperature", bp_systolic: "Systolic", bp_diastolic: "Diastolic", glucose: "Blood glucose", weight: "Weight", temperature: "Temperature" },
    finding: { above_bound: "above the limit", below_bound: "below the limit", deviation: "away from their own normal", drift_up: "slowly rising", drift_down: "slowly falling" },
    channel: { sms: "SMS", email: "Email" },
    service: { "ingest-alarms": "alarm intake", "ingest-streams": "device streams", escalator: "escalation", notifier: "family messages" },
  },
};

const STORAGE_KEY = "eldercare.lang";
export const LANGS = Object.keys(STRINGS);

// A choice made with the toggle wins; otherwise follow the browser: any Chinese locale gets
// zh-CN (the centre's working language), everything else English.
function initialLang() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled (private mode, policy); the default below still works.
  }
  if (stored && STRINGS[stored]) return stored;
  const nav = (navigator.language || "").toLowerCase();
  return nav.startsWith("zh") ? "zh-CN" : "en";
}

let current = initialLang();
const listeners = new Set();

export function lang() {
  return current;
}

export function setLang(next) {
  if (!STRINGS[next] || next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across reloads then; the switch still applies to this page.
  }
  for (const fn of listeners) fn(next);
}

export function toggleLang() {
  setLang(current === "zh-CN" ? "en" : "zh-CN");
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function t(key, vars) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// group is "kind", "device" or "mobility"; unknown or empty values come back unchanged.
export function label(group, value) {
  if (value === null || value === undefined || value === "") return t("none");
  return TERMS[current][group]?.[value] ?? String(value);
}

// Static markup carries data-i18n="key" (text) and data-i18n-aria-label="key"; this fills both.
export function translateStatic(root = document) {
  document.documentElement.lang = current;
  document.title = t("app.title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}
