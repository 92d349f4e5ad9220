// Every string a person reads on the console, in both languages the centre works in.
// Keys are flat and dotted so a missing one is easy to grep; t() falls back to English and
// then to the key itself, so a forgotten translation shows up as text rather than as a blank.

export const STRINGS = {
  "zh-CN": {
    "app.title": "12349 为老服务呼叫中心",
    "app.loading": "正在加载…",
    "lang.switch": "English",
    "lang.switchLabel": "切换到英文界面",
    "signin.heading": "座席登录",
    "signin.username": "用户名",
    "signin.password": "密码",
    "signin.submit": "登录",
    "signin.busy": "正在登录…",
    "err.wrongCredentials": "用户名或密码错误",
    "err.tooMany": "尝试次数过多，请稍后再试",
    "err.network": "无法连接服务器，请检查网络",
    "err.generic": "出错了（{status}）",
    "header.signout": "退出",
    "header.waiting": "等待处理",
    "conn.live": "实时",
    "conn.reconnecting": "正在重连…",
    "sound.off": "声音未开启，点击页面任意处开启",
    "sound.on": "声音已开启",
    "queue.heading": "等待处理的报警",
    "queue.empty": "当前没有等待处理的报警",
    "acked.heading": "已确认（最近一小时）",
    "acked.empty": "最近一小时没有已确认的报警",
    "row.waiting": "已等待 {age}",
    "row.ackedBy": "✓ {who} {time} 确认",
    "row.cancelled": "设备端已取消",
    "row.noResident": "未关联老人",
    "row.room": "{room} 室",
    "help.keys": "快捷键：j / k 上下选择 · Enter 打开 · a 确认当前报警",
    "detail.placeholder": "在左侧选择一条报警查看详情",
    "detail.label": "报警详情面板",
    "detail.loading": "正在加载详情…",
    "detail.loadFailed": "详情加载失败：{message}",
    "detail.ack": "确认报警 (a)",
    "detail.acking": "正在确认…",
    "detail.acked": "已由 {who} 于 {time} 确认",
    "detail.status.new": "等待处理",
    "detail.raised": "报警时间",
    "detail.occurred": "发生时间",
    "section.resident": "老人信息",
    "section.contacts": "紧急联系人",
    "section.location": "位置",
    "section.device": "设备",
    "section.alarm": "报警详情",
    "section.events": "该设备最近事件",
    "resident.none": "该报警未关联老人",
    "resident.age": "{age} 岁",
    "resident.phone": "电话",
    "resident.conditions": "疾病",
    "resident.medications": "用药",
    "resident.mobility": "行动能力",
    "resident.notes": "备注",
    "sex.female": "女",
    "sex.male": "男",
    "contacts.none": "没有登记联系人",
    "contacts.keyholder": "有钥匙",
    "location.site": "地点",
    "location.address": "地址",
    "location.community": "社区",
    "location.room": "房间",
    "location.floor": "{floor} 层",
    "device.id": "编号",
    "device.kind": "类型",
    "device.model": "型号",
    "device.battery": "电量",
    "device.lastCheckin": "最近签到",
    "device.online": "在线状态",
    "device.isOnline": "在线",
    "device.isOffline": "离线",
    "alarm.peakG": "峰值加速度",
    "alarm.confidence": "置信度",
    "alarm.cancelledAt": "设备端取消时间",
    "chart.label": "加速度幅值：{seconds} 秒，{hz} Hz，峰值 {peak} g（第 {at} 秒）",
    "events.none": "最近没有事件",
    "none": "—",
  },
  en: {
    "app.title": "12349 Elderly Service Centre",
    "app.loading": "Loading…",
    "lang.switch": "中文",
    "lang.switchLabel": "Switch the interface to Chinese",
    "signin.heading": "Operator sign-in",
    "signin.username": "Username",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.busy": "Signing in…",
    "err.wrongCredentials": "Wrong username or password",
    "err.tooMany": "Too many attempts, please wait and try again",
    "err.network": "Cannot reach the server, check the network",
    "err.generic": "Something went wrong ({status})",
    "header.signout": "Sign out",
    "header.waiting": "Waiting",
    "conn.live": "Live",
    "conn.reconnecting": "Reconnecting…",
    "sound.off": "Sound is off, click anywhere to enable",
    "sound.on": "Sound on",
    "queue.heading": "Alarms waiting",
    "queue.empty": "No alarms waiting",
    "acked.heading": "Acknowledged (last hour)",
    "acked.empty": "Nothing acknowledged in the last hour",
    "row.waiting": "waiting {age}",
    "row.ackedBy": "✓ {who} at {time}",
    "row.cancelled": "Cancelled on device",
    "row.noResident": "No resident linked",
    "row.room": "room {room}",
    "help.keys": "Keys: j / k move · Enter open · a acknowledge the open alarm",
    "detail.placeholder": "Select an alarm on the left to see its details",
    "detail.label": "Alarm details panel",
    "detail.loading": "Loading details…",
    "detail.loadFailed": "Could not load details: {message}",
    "detail.ack": "Acknowledge (a)",
    "detail.acking": "Acknowledging…",
    "detail.acked": "Acknowledged by {who} at {time}",
    "detail.status.new": "Waiting",
    "detail.raised": "Raised",
    "detail.occurred": "Occurred",
    "section.resident": "Resident",
    "section.contacts": "Contacts",
    "section.location": "Location",
    "section.device": "Device",
    "section.alarm": "Alarm details",
    "section.events": "Recent events of this device",
    "resident.none": "No resident is linked to this alarm",
    "resident.age": "{age} years",
    "resident.phone": "Phone",
    "resident.conditions": "Conditions",
    "resident.medications": "Medications",
    "resident.mobility": "Mobility",
    "resident.notes": "Notes",
    "sex.female": "female",
    "sex.male": "male",
    "contacts.none": "No contacts on file",
    "contacts.keyholder": "Keyholder",
    "location.site": "Site",
    "location.address": "Address",
    "location.community": "Community",
    "location.room": "Room",
    "location.floor": "floor {floor}",
    "device.id": "ID",
    "device.kind": "Kind",
    "device.model": "Model",
    "device.battery": "Battery",
    "device.lastCheckin": "Last check-in",
    "device.online": "Status",
    "device.isOnline": "online",
    "device.isOffline": "offline",
    "alarm.peakG": "Peak acceleration",
    "alarm.confidence": "Confidence",
    "alarm.cancelledAt": "Cancelled on device at",
    "chart.label": "Acceleration magnitude: {seconds} s at {hz} Hz, peak {peak} g at {at} s",
    "events.none": "No recent events",
    "none": "—",
  },
};

// Names of alarm kinds, device kinds, event types and mobility levels. A value the table does
// not know is shown raw (see label()), so a new kind added on the server is never hidden.
const TERMS = {
  "zh-CN": {
    kind: {
      sos: "紧急呼叫 SOS", smoke: "烟雾报警", fall: "跌倒", fire: "火警",
      heart_rate: "心率异常", spo2: "血氧过低", inactivity: "长时间无活动",
      low_battery: "电量低", tamper: "防拆报警", fault: "设备故障", offline: "设备离线",
      no_checkin: "未按时签到", cancel: "取消", test: "测试", clear: "解除",
      checkin: "签到", battery: "电量", off_wrist: "未佩戴", location: "定位",
    },
    device: { button: "一键呼叫按钮", smoke_detector: "烟雾探测器", smoke: "烟雾探测器", wearable: "穿戴设备", watch: "手表", band: "手环" },
    mobility: { independent: "可自理", walker: "使用助行器", cane: "使用拐杖", wheelchair: "轮椅", bedridden: "卧床" },
  },
  en: {
    kind: {
      sos: "Emergency call (SOS)", smoke: "Smoke alarm", fall: "Fall", fire: "Fire",
      heart_rate: "Heart rate", spo2: "Low SpO2", inactivity: "Inactivity",
      low_battery: "Low battery", tamper: "Tamper", fault: "Device fault", offline: "Device offline",
      no_checkin: "Missed check-in", cancel: "Cancel", test: "Test", clear: "Clear",
      checkin: "Check-in", battery: "Battery", off_wrist: "Off wrist", location: "Location",
    },
    device: { button: "Emergency button", smoke_detector: "Smoke detector", smoke: "Smoke detector", wearable: "Wearable", watch: "Watch", band: "Band" },
    mobility: { independent: "Independent", walker: "Walker", cane: "Cane", wheelchair: "Wheelchair", bedridden: "Bedridden" },
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
