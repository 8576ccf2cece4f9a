"""Chinese labels for the English codes stored in the database (one place for all)."""

from __future__ import annotations

CHANNELS = {
    "letter": "来信",
    "visit": "来访",
    "online": "网上信访",
    "phone": "来电",
    "mailbox": "领导信箱",
}

# The ten key domains 十大领域 plus 其他.
DOMAINS = {
    "discipline": "纪检监察",
    "law": "涉法涉诉",
    "education": "教育",
    "labor": "劳动保障",
    "land": "自然资源",
    "environment": "生态环境",
    "housing": "房地产",
    "agriculture": "农业农村",
    "health": "卫生健康",
    "finance": "集资融资",
    "other": "其他",
}

SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}

ESCALATION = {"none": "无", "province": "赴省", "beijing": "进京"}

# Where a year's holiday schedule comes from (workdays.schedule_years) and the state of a
# rule assignment (deadlines.assignment_history).
CALENDAR_SOURCES = {"package": "国务院办公厅公布的安排（系统内置）", "table": "管理员导入",
                    "weekends": "未导入：仅按周末推算，期限标为“暂定”"}
ASSIGNMENT_STATUS = {"in_force": "现行", "superseded": "已被后续设定取代", "scheduled": "尚未生效"}
BACKLOG_SOURCES = {"national": "国家局交办", "province": "省局交办", "local": "本地排查"}

REGION_LEVELS = {"city": "市", "county": "县/区", "township": "乡镇/街道"}

LEADER_LEVELS = {"city": "市级", "county": "县级", "township": "乡镇级"}

UNIT_KINDS = {"bureau": "职能部门", "county_gov": "县区政府", "township_gov": "乡镇政府/街道办"}

CASE_UNIT_ROLES = {"territory": "属地", "competent": "主管部门"}

TRACKS = {
    "general": "一般程序",
    "simple": "简易程序",
    "consultation": "咨询建议",
    "green": "绿色通道",
}

EVENT_KINDS = {
    "dispatched": "交办",
    "accepted": "受理",
    "contacted": "联系信访人",
    "handled": "办理",
    "replied": "答复",
    "feedback": "反馈",
    "evaluated": "评价",
    "extended": "延期",
    "updated": "台账更新",
}

STAGES = {"acceptance": "待受理", "handling": "办理中", "clearance": "积案化解"}
# The deadline a case in each stage is held to.
STAGE_DEADLINES = {"acceptance": "受理期限", "handling": "办理期限", "clearance": "化解目标日期"}

REMINDER_LEVELS = {
    "officer": "经办人员催办（前15日）",
    "deputy": "分管领导催办（前10日）",
    "head": "发函催办主要负责人（前5日）",
    "overdue": "超期督办（每日）",
}

COLORS = {"red": "红色", "yellow": "黄色", "green": "绿色"}

# Display colors (RGB) shared by every chart and the legend.
COLOR_RGB = {"red": (214, 39, 40), "yellow": (240, 180, 0), "green": (44, 160, 44)}


def label(mapping: dict[str, str], code: str | None) -> str:
    """The Chinese label of a code; unknown codes are shown as they are."""
    if code is None:
        return ""
    return mapping.get(code, code)


def days_left_text(days_left: int | None) -> str:
    """剩余 N 天 / 今日到期 / 已超期 N 天 (never a negative count)."""
    if days_left is None:
        return "—"
    days = int(days_left)
    if days < 0:
        return f"已超期 {-days} 天"
    return "今日到期" if days == 0 else f"剩余 {days} 天"

# Early warnings (一单三推): the cells a warning can be about, its status and recipients.
COLLECTIVE_VISIT, ESCALATED = "collective_visit", "escalated"
WARNING_DOMAINS = {**DOMAINS, COLLECTIVE_VISIT: "集体访", ESCALATED: "越级访"}
WARNING_STATUS = {"raised": "待签收", "acknowledged": "已签收", "acting": "处置中", "closed": "已关闭",
                  "preview": "未发布（预览）"}
WARNING_RECIPIENTS = {"city": "市委、市政府", "territory": "属地党委政府", "competent": "主管部门"}


def percent_text(value: float | None) -> str:
    """A rate (fraction 0–1) as shown everywhere: "97.3%", or "—" without a value."""
    try:
        missing = value is None or bool(value != value)  # NaN is not equal to itself
    except TypeError:  # pandas' NA has no truth value
        missing = True
    return "—" if missing else f"{value:.1%}"
