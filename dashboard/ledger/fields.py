"""Ledger columns (信访事项台账): fields and their Chinese headers, the result of an import,
and the cleaning of cell text shared by every step."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from dashboard.labels import BACKLOG_SOURCES, CHANNELS, DOMAINS, ESCALATION, SATISFACTION, TRACKS

# field -> (header of domain.md §7, aliases). Required fields are listed below.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case_no": ("信访件编号", ("编号", "信访编号", "件号", "信访件号", "事项编号", "案件编号")),
    "registered_on": ("登记日期", ("登记时间", "信访日期", "来信来访日期", "收件日期")),
    "channel": ("信访形式", ("信访方式", "来源", "信访渠道")),
    "track": ("办理程序", ("程序类型", "适用程序", "办理程序类型")),
    "petitioner_name": ("信访人", ("信访人姓名", "姓名")),
    "petitioner_phone": ("联系电话", ("电话", "手机", "手机号码", "联系方式")),
    "petitioner_id_no": ("身份证号", ("身份证号码", "证件号码")),
    "persons": ("人数", ("信访人数", "来访人数")),
    "county": ("所属县区", ("县区", "县（市、区）", "县市区", "所属县（市、区）")),
    "township": ("所属乡镇", ("乡镇", "乡镇（街道）", "乡镇街道", "所属乡镇（街道）", "街道")),
    "domain": ("问题类别", ("问题分类", "问题类型", "所属领域", "类别")),
    "summary": ("诉求摘要", ("诉求内容", "主要诉求", "内容摘要", "反映问题")),
    "responsible_unit": ("责任单位", ("办理单位", "承办单位", "事权单位")),
    "competent_unit": ("主管部门", ("主管单位",)),
    "accepted_on": ("受理日期", ("受理时间",)),
    "handling_due": ("办理期限", ("办理时限", "办结期限")),
    "replied_on": ("答复日期", ("答复时间",)),
    "closed_on": ("办结日期", ("办结时间",)),
    "resolved": ("是否化解", ("化解情况", "已化解")),
    "resolved_on": ("化解日期", ("化解时间",)),
    "satisfaction": ("满意度", ("满意度评价", "评价结果", "评价")),
    "is_backlog": ("是否积案", ("积案",)),
    "backlog_source": ("积案来源", ("积案类型",)),
    "clearance_target": ("化解目标日期", ("化解时限", "化解期限")),
    "leader": ("包案领导", ("包案领导姓名", "包案人")),
    "escalation": ("越级情况", ("越级", "是否越级")),
    "is_repeat": ("是否重复", ("重复信访", "是否重复信访")),
}
REQUIRED = ("case_no", "registered_on", "channel", "county", "domain")
PERSONAL = {"petitioner_name", "petitioner_phone", "petitioner_id_no"}
DATE_FIELDS = ("registered_on", "accepted_on", "handling_due", "replied_on", "closed_on", "resolved_on",
               "clearance_target")
BOOL_FIELDS = ("resolved", "is_backlog", "is_repeat")
TRUE_WORDS = {"是", "y", "yes", "1", "√", "✓", "true", "有", "已化解", "化解"}
FALSE_WORDS = {"否", "n", "no", "0", "×", "✗", "x", "false", "无", "未化解", ""}
# Chinese words of the ledgers for the coded columns (labels plus common variants).
CODE_WORDS = {
    "channel": {**{v: k for k, v in CHANNELS.items()}, "网信": "online", "网上": "online", "网络": "online",
                "信": "letter", "访": "visit", "走访": "visit", "12345": "phone", "电话信访": "phone", "电话": "phone",
                "书记信箱": "mailbox", "市长信箱": "mailbox",
                # variants written by other counties' ledgers
                "信件": "letter", "书信": "letter", "来信件": "letter", "网上投诉": "online", "网上来信": "online",
                "网上信访件": "online", "走访上访": "visit", "上访": "visit", "来访件": "visit", "来电": "phone",
                "电话来访": "phone", "领导信箱": "mailbox"},
    "domain": {**{v: k for k, v in DOMAINS.items()}, "劳动和社会保障": "labor", "城乡建设": "housing",
               "国土资源": "land", "环境保护": "environment", "医疗卫生": "health", "非法集资": "finance"},
    "satisfaction": {**{v: k for k, v in SATISFACTION.items()}, "": None, "未评价": None, "非常满意": "satisfied",
                     "很满意": "satisfied", "比较满意": "basic", "一般": "basic", "很不满意": "unsatisfied"},
    "escalation": {**{v: k for k, v in ESCALATION.items()}, "": "none", "否": "none", "赴京": "beijing",
                   "到省": "province"},
    "backlog_source": {**{v: k for k, v in BACKLOG_SOURCES.items()}, "": None, "国家信访局交办": "national",
                       "省信访局交办": "province", "省交办": "province", "本级排查": "local",
                       "国家交办": "national", "省级交办": "province", "省局交办": "province", "自行排查": "local"},
    # an empty cell keeps a known case's track (a new case gets 一般程序)
    "track": {**{v: k for k, v in TRACKS.items()}, "": None, "一般": "general", "简易": "simple",
              "咨询": "consultation", "咨询类": "consultation", "建议": "consultation", "绿色": "green"},
}
CODE_LABELS = {"channel": CHANNELS, "domain": DOMAINS, "satisfaction": SATISFACTION, "escalation": ESCALATION,
               "backlog_source": BACKLOG_SOURCES, "track": TRACKS}


class LedgerError(ValueError):
    """A file that cannot be imported at all (exit code 2); nothing is written."""


@dataclass
class Rejection:
    row: int  # spreadsheet row number as the user sees it
    column: str
    value: str  # personal data (name, phone, ID number) masked
    reason: str


@dataclass
class RowWarning:
    """A row imported with a remark: a word of an optional coded column that is none
    of the known ones, stored as written."""

    row: int
    column: str
    value: str
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_rows: list[dict] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    new_leaders: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected_count(self) -> int:
        return len({r.row for r in self.rejected})

    def as_dict(self) -> dict:
        return {
            "rows": self.rows, "new": self.new, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": self.rejected_count, "dry_run": self.dry_run,
            "rejections": [vars(r) for r in self.rejected],
            "new_units": self.new_units, "new_leaders": self.new_leaders,
            "warnings": [vars(w) for w in self.warnings],
        }


# ------------------------------------------------------------ cell text


def clean(value) -> str:
    """Text of a cell as given: full-width spaces and stray whitespace normalised,
    punctuation (，；（）) kept. Used for names; see `fold` for numbers and codes."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())  # str.split() splits on every Unicode space (U+3000 too)


def clean_text(value) -> str:
    """Free text (诉求摘要): like `clean`, but line breaks inside the cell are kept."""
    if value is None:
        return ""
    lines = (" ".join(line.split()) for line in str(value).splitlines())
    return "\n".join(line for line in lines if line)


def fold(value) -> str:
    """Digits, dates, codes, booleans and case numbers: full-width forms folded too
    (２０２１年３月５日 → 2021年3月5日, ＹＸ－０１ → YX-01)."""
    text = clean(value)
    return text if text.isascii() else clean(unicodedata.normalize("NFKC", text))


def name_key(value) -> str:
    """Key to match a unit, leader or region name: `临江县住建局（人防办）` and
    `临江县住建局(人防办)`, `钟楼 街道` and `钟楼街道` are the same name."""
    return "".join(unicodedata.normalize("NFKC", clean(value)).split()).casefold()


def blank(row) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in row)


def header_key(text) -> str:
    return re.sub(r"[\s*:]", "", fold(text)).lower()  # NFKC has folded ＊ and ：


HEADER_INDEX = {
    header_key(name): key
    for key, (header, aliases) in FIELDS.items()
    for name in (header, key, *aliases)
}
IGNORED = ("", "（不导入）", "(不导入)", "不导入", "ignore", "-")  # mapping values: do not import the column
BLANK_HEADER = re.compile(r"^第(\d+)列$")

CASE_FIELDS = ("registered_on", "channel", "track", "petitioner_name", "petitioner_phone", "petitioner_id_no",
               "persons", "is_collective", "county_code", "township_code", "domain", "summary",
               "responsible_unit_id", "competent_unit_id", "accepted_on", "replied_on", "closed_on", "resolved",
               "resolved_on", "satisfaction", "is_backlog", "backlog_source", "clearance_target", "leader_id",
               "escalation", "is_repeat")
# The ledger columns a case column is read from: a column the file does not have
# leaves that field of a known case as it is.
SOURCES = {"county_code": ("county",), "township_code": ("township",), "responsible_unit_id": ("responsible_unit",),
           "competent_unit_id": ("competent_unit",), "leader_id": ("leader",), "is_collective": ("persons",),
           "resolved": ("resolved", "resolved_on"), "resolved_on": ("resolved_on", "resolved")}
FIELD_NAMES = {**{k: v[0] for k, v in FIELDS.items()}, "county_code": "所属县区", "township_code": "所属乡镇",
               "responsible_unit_id": "责任单位", "competent_unit_id": "主管部门", "leader_id": "包案领导",
               "is_collective": "集体访"}

