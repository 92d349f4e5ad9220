"""The words of the exported reports, in the centre's two languages (zh-CN and English).

Alarm kinds take their titles from ``alerts/kinds.py``; a key with no entry falls back to
English, then to its last part, so a new kind or type is shown raw rather than hidden.

>>> label("zh-CN", "kind.fall"), label("en", "outcome.false_alarm"), label("en", "type.new_type")
('跌倒', 'False alarm', 'new_type')
"""

from __future__ import annotations

from alerts.kinds import KINDS

LANGS = ("zh-CN", "en")

_EN: dict[str, str] = {
    "title": "Service report", "period": "Period", "generated": "Generated", "scope": "Area",
    "zone": "Time zone", "print": "Print", "print.hint":
        "To keep a PDF, print this page and choose “Save as PDF” as the printer.",
    "none": "—", "model.none": "(no model)",
    "level.city": "City", "level.district": "District", "level.street": "Street",
    "level.community": "Community",
    "outcome.genuine": "Genuine", "outcome.false_alarm": "False alarm", "outcome.test": "Test",
    "outcome.accidental": "Accidental", "outcome.no_answer_escalated": "No answer, escalated",
    "outcome.device_fault": "Device fault", "outcome.open": "Open", "outcome.total": "Total",
    "type.meal": "Meals", "type.housekeeping": "Housekeeping", "type.repair": "Repairs",
    "type.companionship": "Companionship", "type.medical_escort": "Medical escort",
    "type.other": "Other",
    "setting.home": "At home", "setting.day_care": "Day care", "setting.care_home": "Care home",
    "need.high_age": "Aged 80 or over", "need.empty_nest": "Empty nest",
    "need.living_alone": "Living alone", "need.disabled": "Disabled",
    "need.partly_disabled": "Partly disabled", "need.low_income": "Low income",
    "need.five_guarantee": "Five guarantees",
    "device.button": "Emergency button", "device.smoke": "Smoke detector",
    "device.wearable": "Wearable", "device.gateway": "Hub", "device.": "Unknown device",
    "problem.offline": "Offline", "problem.no_checkin": "No check-in",
    "h.kpis": "Key figures", "h.children": "By area", "h.incidents": "Incidents by kind and outcome",
    "h.answer": "Answered within 60 s, by area", "h.models": "False alarms by device model",
    "h.coverage": "Residents with a working emergency device, by area",
    "h.tickets": "Service tickets by type", "h.settings": "Residents by care setting",
    "h.needs": "Residents by need category", "h.not_reporting": "Devices not reporting",
    "h.incidents_by_area": "Incidents by area", "kind": "Kind", "area": "Area",
    "model": "Model", "device": "Device", "site": "Site", "resident": "Resident",
    "target": "target {target}", "not_reporting.more": "Showing {shown} of {total}.",
    "not_reporting.none": "Every supervised device has reported in time.",
    "m.report.period_from": "Period from", "m.report.period_to": "Period to (exclusive)",
    "m.report.tz": "Time zone", "m.report.generated_at": "Generated at",
    "m.report.target_60s": "Target: answered within 60 s",
    "m.report.target_180s": "Target: answered within 180 s",
    "m.incidents.total": "Incidents", "m.incidents.open": "Open incidents",
    "m.answer.incidents": "Incidents measured", "m.answer.within_60s": "Answered within 60 s",
    "m.answer.within_180s": "Answered within 180 s", "m.answer.unanswered": "Never answered",
    "m.answer.waiting_60s": "Unanswered, not yet 60 s old",
    "m.answer.waiting_180s": "Unanswered, not yet 180 s old",
    "m.answer.answered_60s": "Share answered within 60 s",
    "m.answer.answered_180s": "Share answered within 180 s",
    "m.answer.median_answer_s": "Median time to answer (s)",
    "m.false_alarms.resolved": "Resolved incidents", "m.false_alarms.false_alarms": "False alarms",
    "m.false_alarms.rate": "False-alarm rate",
    "m.coverage.residents": "Residents", "m.coverage.covered": "With a working emergency device",
    "m.coverage.share": "Coverage", "m.coverage.not_reporting": "Devices not reporting",
    "m.tickets.opened": "Tickets opened", "m.tickets.done": "Visits done",
    "m.tickets.cancelled": "Cancelled", "m.tickets.visited": "Visits started",
    "m.tickets.median_to_visit_s": "Median time to visit (s)",
    "m.not_reporting.total": "Devices not reporting", "m.not_reporting.kind": "Device kind",
    "m.not_reporting.model": "Model", "m.not_reporting.site": "Site",
    "m.not_reporting.resident": "Resident", "m.not_reporting.last_checkin": "Last heard from",
    "m.not_reporting.problem": "Problem",
}

_ZH: dict[str, str] = {
    "title": "服务统计报表", "period": "统计期间", "generated": "生成时间", "scope": "区域",
    "zone": "时区", "print": "打印", "print.hint": "如需 PDF：打印本页，打印机选择“另存为 PDF”。",
    "none": "—", "model.none": "（无型号）",
    "level.city": "市", "level.district": "区", "level.street": "街道", "level.community": "社区",
    "outcome.genuine": "真实求助", "outcome.false_alarm": "误报", "outcome.test": "测试",
    "outcome.accidental": "误触", "outcome.no_answer_escalated": "无人应答已升级",
    "outcome.device_fault": "设备故障", "outcome.open": "未结案", "outcome.total": "合计",
    "type.meal": "助餐", "type.housekeeping": "家政保洁", "type.repair": "维修",
    "type.companionship": "陪伴", "type.medical_escort": "陪同就医", "type.other": "其他",
    "setting.home": "居家", "setting.day_care": "社区日间照料", "setting.care_home": "机构养老",
    "need.high_age": "高龄（80 岁及以上）", "need.empty_nest": "空巢", "need.living_alone": "独居",
    "need.disabled": "失能", "need.partly_disabled": "半失能", "need.low_income": "低收入",
    "need.five_guarantee": "特困（五保）",
    "device.button": "一键呼叫按钮", "device.smoke": "烟雾探测器", "device.wearable": "穿戴设备",
    "device.gateway": "网关", "device.": "未知设备",
    "problem.offline": "离线", "problem.no_checkin": "未按时签到",
    "h.kpis": "主要指标", "h.children": "分区域", "h.incidents": "事件（按类型与结果）",
    "h.answer": "60 秒内接听率（分区域）", "h.models": "误报率（按设备型号）",
    "h.coverage": "拥有正常紧急设备的老人比例（分区域）", "h.tickets": "服务工单（按类型）",
    "h.settings": "老人（按养老方式）", "h.needs": "老人（按需求类别）",
    "h.not_reporting": "未按时上报的设备", "h.incidents_by_area": "事件数（分区域）",
    "kind": "类型", "area": "区域", "model": "型号", "device": "设备", "site": "地点",
    "resident": "老人", "target": "目标 {target}", "not_reporting.more": "显示 {total} 台中的 {shown} 台。",
    "not_reporting.none": "所有受监测设备均按时上报。",
    "m.report.period_from": "统计开始", "m.report.period_to": "统计结束（不含）",
    "m.report.tz": "时区", "m.report.generated_at": "生成时间",
    "m.report.target_60s": "目标：60 秒内接听", "m.report.target_180s": "目标：180 秒内接听",
    "m.incidents.total": "事件数", "m.incidents.open": "未结案事件",
    "m.answer.incidents": "统计事件数", "m.answer.within_60s": "60 秒内接听",
    "m.answer.within_180s": "180 秒内接听", "m.answer.unanswered": "未接听",
    "m.answer.waiting_60s": "未接听，尚未满 60 秒", "m.answer.waiting_180s": "未接听，尚未满 180 秒",
    "m.answer.answered_60s": "60 秒内接听率", "m.answer.answered_180s": "180 秒内接听率",
    "m.answer.median_answer_s": "接听时间中位数（秒）",
    "m.false_alarms.resolved": "已结案事件", "m.false_alarms.false_alarms": "误报",
    "m.false_alarms.rate": "误报率",
    "m.coverage.residents": "老人数", "m.coverage.covered": "有正常紧急设备",
    "m.coverage.share": "覆盖率", "m.coverage.not_reporting": "未上报设备",
    "m.tickets.opened": "工单数", "m.tickets.done": "已完成上门", "m.tickets.cancelled": "已取消",
    "m.tickets.visited": "已开始上门", "m.tickets.median_to_visit_s": "到达上门时间中位数（秒）",
    "m.not_reporting.total": "未上报设备", "m.not_reporting.kind": "设备类型",
    "m.not_reporting.model": "型号", "m.not_reporting.site": "地点",
    "m.not_reporting.resident": "老人", "m.not_reporting.last_checkin": "最后上报",
    "m.not_reporting.problem": "问题",
}

_STRINGS = {
    "en": _EN | {f"kind.{k.name}": k.title_en for k in KINDS.values()},
    "zh-CN": _ZH | {f"kind.{k.name}": k.title_zh for k in KINDS.values()},
}


def label(lang: str, key: str, **values: object) -> str:
    text = _STRINGS.get(lang, _STRINGS["en"]).get(key) or _STRINGS["en"].get(key) or key.rsplit(".", 1)[-1]
    return text.format(**values) if values else text
