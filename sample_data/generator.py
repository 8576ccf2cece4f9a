"""Deterministic generator of the sample city's units, leaders, cases and case events.

`load_sample(engine, cases=50_000, seed=20260101, until=None, progress=None)` fills an
empty schema (the caller runs `dashboard.db.create_schema`). The same
(cases, seed, until) always gives the same rows: every random draw comes from one
`numpy.random.default_rng(seed)` in a fixed order, for all cases at once, before any
row is written; rows are then written in chunks of `CHUNK` cases, one transaction per
chunk (COPY on PostgreSQL, a DBAPI executemany on SQLite: see `_write_rows`; the same
rows either way).

Case number 信访件编号: ``YX{year}-{cc}-{seq:06d}``, e.g. ``YX2026-21-000123``: the
registration year, the last two digits of the county code (02 云溪区, 03 东湖区, 21 临江县,
22 北山县, 23 清河县, 24 桐源县) and a sequence per (year, county) in registration order.

The shape of the data (domain.md §6): ~74% online, ~2% collective visits, ~1.5%
escalated to the province and ~0.3% to Beijing, ~10% repeat petitions, volume growing
about 25% a year, 4 "hot" townships with about four times their share, ~3% backlog
cases (older, repeat, collective and hot-township cases first) each with a leader and a
clearance target, ~88% of them resolved by `until`. Deadlines follow the national rule
in calendar days (acceptance: registered + 15; handling: accepted + 60); cases
registered in the last two or three months are increasingly still open, so the open
cases of `until` come in all three colors.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import config, models
from dashboard.db import bulk_insert
from sample_data.geography import CITY_CODE, load_geography

Progress = Callable[[float, str], None]

CHUNK = 50_000
YEARS = 3
YEARLY_GROWTH = 1.25
NEVER = 10**7  # a day offset meaning "not (yet) happened"

CHANNEL_CODES = ("online", "letter", "visit", "phone", "mailbox")
OTHER_CHANNEL_WEIGHTS = np.array([8.0, 10.0, 5.0, 3.0])  # letter, visit, phone, mailbox

DOMAIN_CODES = (
    "discipline", "law", "education", "labor", "land", "environment",
    "housing", "agriculture", "health", "finance", "other",
)
# weights per 100 cases in counties and in urban districts
DOMAIN_WEIGHTS_COUNTY = np.array([7, 10, 5, 13, 16, 8, 9, 15, 5, 3, 9], dtype=float)
DOMAIN_WEIGHTS_DISTRICT = np.array([6, 11, 8, 15, 9, 8, 19, 5, 6, 4, 9], dtype=float)

TRACK_CODES = ("general", "simple", "consultation", "green")
TRACK_WEIGHTS = np.array([0.80, 0.10, 0.07, 0.03])

SATISFACTION_CODES = ("satisfied", "basic", "unsatisfied")
BACKLOG_SOURCES = ("national", "province", "local")
ESCALATION_CODES = ("none", "province", "beijing")

EVENT_KINDS = (
    "dispatched", "accepted", "contacted", "handled", "replied", "feedback", "evaluated",
)

PETITION_BUREAU = "市信访局"
# (name, domain it is competent for); the petition bureau has no domain
BUREAUS = (
    ("市纪委监委", "discipline"),
    ("市公安局", "law"),
    ("市教育局", "education"),
    ("市人力资源和社会保障局", "labor"),
    ("市自然资源和规划局", "land"),
    ("市生态环境局", "environment"),
    ("市住房和城乡建设局", "housing"),
    ("市农业农村局", "agriculture"),
    ("市卫生健康委员会", "health"),
    ("市地方金融监督管理局", "finance"),
    ("市市场监督管理局", "other"),
    (PETITION_BUREAU, None),
)

CITY_LEADER_TITLES = (
    "市委书记", "市长", "市委副书记", "常务副市长", "副市长", "副市长", "副市长",
    "市委常委、政法委书记", "市委常委、秘书长", "市人大常委会副主任",
)
COUNTY_LEADER_TITLES = (
    "{k}委书记", "{k}长", "{k}委副书记", "常务副{k}长", "副{k}长", "副{k}长",
    "{k}委常委、政法委书记", "{k}人大常委会副主任",
)
TOWNSHIP_LEADERS = 70
HOT_TOWNSHIPS = 4

SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN_CHARS = tuple(
    dict.fromkeys(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌宇浩凯鹏飞俊峰辉波宁"
        "海燕雪梅琳晨阳春林东志成永庆福德兴旺金银玲凤云莲翠荣光发祥宏新利忠学"
    )
)

SUMMARIES = {
    "discipline": (
        "反映村干部优亲厚友、违规发放补助问题", "反映村务财务不公开问题",
        "举报村干部侵占集体资金问题", "反映基层干部作风粗暴问题", "反映低保评定不公问题",
    ),
    "law": (
        "不服法院判决，要求再审", "反映案件执行难问题", "反映派出所处理纠纷不公问题",
        "反映交通事故赔偿执行不到位问题", "要求依法追究侵权人责任",
    ),
    "education": (
        "反映子女入学难问题", "反映学校乱收费问题", "反映校外培训机构退费难问题",
        "反映原代课教师待遇问题", "反映校车安全隐患问题",
    ),
    "labor": (
        "反映拖欠工资问题", "反映单位未缴纳社会保险问题", "反映工伤认定及待遇问题",
        "反映养老保险待遇核定问题", "反映劳动合同纠纷问题",
    ),
    "land": (
        "反映征地补偿问题", "反映宅基地纠纷问题", "反映土地承包经营权纠纷问题",
        "反映违法占地建设问题", "反映拆迁安置补偿问题",
    ),
    "environment": (
        "反映企业排放废气扰民问题", "反映河道污染问题", "反映噪声扰民问题",
        "反映养殖场污染问题", "反映垃圾中转站异味问题",
    ),
    "housing": (
        "反映商品房逾期交房问题", "反映房屋质量问题", "反映物业服务问题",
        "反映不动产权证办理难问题", "反映老旧小区改造问题",
    ),
    "agriculture": (
        "反映惠农补贴发放问题", "反映农村道路建设问题", "反映农田水利设施损坏问题",
        "反映土地流转费用拖欠问题", "反映农村饮水安全问题",
    ),
    "health": (
        "反映医疗纠纷问题", "反映医保报销问题", "反映医疗收费不合理问题",
        "反映乡镇卫生院服务问题", "反映药品质量问题",
    ),
    "finance": (
        "反映非法集资问题", "反映理财平台无法兑付问题", "反映民间借贷纠纷问题",
        "反映养老机构涉嫌非法集资问题",
    ),
    "other": (
        "反映供水供电问题", "反映道路交通管理问题", "咨询相关政策问题",
        "反映市场经营秩序问题", "反映公共设施维护问题", "反映邻里纠纷问题",
    ),
}
SUMMARY_ENDINGS = ("，要求尽快解决。", "，请求依法处理。", "。", "，希望督促落实。")

NOTES = {
    "contacted": ("电话联系信访人，了解诉求", "约见信访人，当面听取诉求", "上门走访信访人"),
    "handled": ("调查核实，研究处理意见", "召开协调会，推动问题解决", "会同有关部门现场核查"),
    "handled_backlog": ("包案领导接访，推进化解", "召开专题会议研究化解方案", "落实化解措施"),
    "replied": ("出具书面答复意见书", "当面答复信访人", "书面答复并送达信访人"),
    "feedback": ("办结，反馈市信访局", "办理结果已录入系统"),
}

WORKDAY_SECONDS = 7 * 3600  # 8:30–12:00 and 14:00–17:30


# ---------------------------------------------------------------------------------
# The city: regions, units, leaders
# ---------------------------------------------------------------------------------


class _City:
    """Regions, units and leaders of the sample city, with arrays for vector lookups."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.regions = load_geography()
        counties = [r for r in self.regions if r["level"] == "county"]
        townships = [r for r in self.regions if r["level"] == "township"]
        self.county_codes = [c["code"] for c in counties]
        self.county_names = [c["name"] for c in counties]
        county_index = {code: i for i, code in enumerate(self.county_codes)}
        self.township_codes = [t["code"] for t in townships]
        self.township_names = [t["name"] for t in townships]
        self.township_county = np.array([county_index[t["parent_code"]] for t in townships])
        self.township_population = np.array([t["population"] for t in townships], dtype=float)
        self.county_is_district = np.array([c["name"].endswith("区") for c in counties])
        self.township_is_street = np.array([t["name"].endswith("街道") for t in townships])

        # units: bureaus, county governments, township governments
        self.units: list[dict] = []
        self.bureau_for_domain = np.zeros(len(DOMAIN_CODES), dtype=np.int64)
        for name, domain in BUREAUS:
            unit_id = self._add_unit(name, "bureau", CITY_CODE)
            if domain is not None:
                self.bureau_for_domain[DOMAIN_CODES.index(domain)] = unit_id
        for county in counties:
            self._add_unit(county["name"] + "人民政府", "county_gov", county["code"])
        self.township_unit = np.array(
            [
                self._add_unit(
                    t["name"] + ("办事处" if t["name"].endswith("街道") else "人民政府"),
                    "township_gov",
                    t["code"],
                )
                for t in townships
            ]
        )
        self.unit_names = {u["id"]: u["name"] for u in self.units}

        # hot townships: a few with several times their share of cases and more backlog
        self.hot = np.zeros(len(townships), dtype=bool)
        self.hot[rng.choice(len(townships), HOT_TOWNSHIPS, replace=False)] = True

        # leaders
        self.leaders: list[dict] = []
        names = _unique_names(rng, 200)
        self.city_leaders = np.array(
            [self._add_leader(next(names), t, "city", CITY_CODE) for t in CITY_LEADER_TITLES]
        )
        extra = {"990121", "990124"}  # the two largest counties have one more deputy
        self.county_leaders: list[np.ndarray] = []
        for county in counties:
            kind = county["name"][-1]
            titles = [t.format(k=kind) for t in COUNTY_LEADER_TITLES]
            if county["code"] in extra:
                titles.append(f"副{kind}长")
            self.county_leaders.append(
                np.array([self._add_leader(next(names), t, "county", county["code"])
                          for t in titles])
            )
        chosen = np.zeros(len(townships), dtype=bool)
        chosen[self.hot] = True
        others = np.flatnonzero(~self.hot)
        chosen[rng.choice(others, TOWNSHIP_LEADERS - int(self.hot.sum()), replace=False)] = True
        self.township_leader = np.zeros(len(townships), dtype=np.int64)
        for i in np.flatnonzero(chosen):
            name = self.township_names[i]
            title = "街道党工委书记" if name.endswith("街道") else f"{name[-1]}党委书记"
            self.township_leader[i] = self._add_leader(
                next(names), title, "township", self.township_codes[i]
            )

    def _add_unit(self, name: str, kind: str, region_code: str) -> int:
        unit_id = len(self.units) + 1
        self.units.append({"id": unit_id, "name": name, "kind": kind, "region_code": region_code})
        return unit_id

    def _add_leader(self, name: str, title: str, level: str, region_code: str) -> int:
        leader_id = len(self.leaders) + 1
        self.leaders.append(
            {"id": leader_id, "name": name, "title": title, "level": level,
             "region_code": region_code}
        )
        return leader_id


def _unique_names(rng: np.random.Generator, count: int):
    """An iterator of distinct invented two- or three-character names."""
    seen: set[str] = set()
    while len(seen) < count:
        surname = SURNAMES[rng.integers(len(SURNAMES))]
        given = "".join(
            GIVEN_CHARS[i] for i in rng.integers(len(GIVEN_CHARS), size=rng.integers(1, 3))
        )
        name = surname + given
        if name not in seen:
            seen.add(name)
            yield name


# ---------------------------------------------------------------------------------
# Cases: every random draw, for all cases at once
# ---------------------------------------------------------------------------------


def _period_start(until: dt.date) -> dt.date:
    try:
        back = until.replace(year=until.year - YEARS)
    except ValueError:  # 29 February
        back = until.replace(year=until.year - YEARS, day=28)
    return back + dt.timedelta(days=1)


def _pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given weights (inverse CDF of one uniform per draw)."""
    cum = np.cumsum(weights) / np.sum(weights)
    return np.minimum(np.searchsorted(cum, rng.random(size), side="right"), len(weights) - 1)


def _top_k(rng: np.random.Generator, log_weights: np.ndarray, k: int) -> np.ndarray:
    """k indices sampled without replacement with the given weights (Gumbel top-k)."""
    keys = log_weights + rng.gumbel(size=len(log_weights))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    k = min(k, int(np.isfinite(keys).sum()))
    return np.sort(np.argpartition(-keys, k - 1)[:k]) if k else np.zeros(0, dtype=np.int64)


def _month_end(days: np.ndarray, origin: np.datetime64) -> np.ndarray:
    dates = origin + days.astype("timedelta64[D]")
    ends = (dates.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    return (ends - origin).astype(np.int64)


def _plan_cases(n: int, until: dt.date, city: _City, rng: np.random.Generator) -> dict:
    """Every attribute of every case, as day offsets from the period start."""
    start = _period_start(until)
    origin = np.datetime64(start, "D")
    n_days = (until - start).days + 1
    today = n_days - 1  # day offset of `until`

    # registration days: growing volume, quieter weekends, some day-to-day noise
    day = np.arange(n_days)
    weekday = (origin + day.astype("timedelta64[D]")).astype("datetime64[D]").view(np.int64)
    weekday = (weekday + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weights = np.exp(np.log(YEARLY_GROWTH) * day / 365.25)
    weights *= np.where(weekday == 5, 0.5, np.where(weekday == 6, 0.4, 1.0))
    weights *= rng.gamma(30.0, 1 / 30.0, n_days)
    reg = np.sort(_pick(rng, weights, n))
    progress_in_period = reg / max(n_days - 1, 1)

    # territory
    t_weights = city.township_population * rng.lognormal(0.0, 0.2, len(city.township_codes))
    t_weights = t_weights * np.where(city.hot, 4.0, 1.0)
    township = _pick(rng, t_weights, n)
    county = city.township_county[township]

    # channel: the online share grows from about 70% to 77% over the period
    p_online = 0.70 + 0.07 * progress_in_period
    u = rng.random(n)
    other = np.minimum(
        np.searchsorted(
            np.cumsum(OTHER_CHANNEL_WEIGHTS) / OTHER_CHANNEL_WEIGHTS.sum(),
            (u - p_online) / (1 - p_online),
            side="right",
        ),
        3,
    )
    channel = np.where(u < p_online, 0, 1 + other)
    is_visit = channel == CHANNEL_CODES.index("visit")

    # domain, by kind of county; hot townships have more land and housing cases
    domain = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    land_housing = np.isin(np.arange(len(DOMAIN_CODES)), [4, 6])
    for t in range(len(city.township_codes)):
        members = np.flatnonzero(township == t)
        if not len(members):
            continue
        base = (
            DOMAIN_WEIGHTS_DISTRICT
            if city.county_is_district[city.township_county[t]]
            else DOMAIN_WEIGHTS_COUNTY
        )
        w = base * np.where(land_housing & city.hot[t], 2.5, 1.0)
        cum = np.cumsum(w) / w.sum()
        domain[members] = np.minimum(
            np.searchsorted(cum, u[members], side="right"), len(DOMAIN_CODES) - 1
        )

    # persons and collective visits (mostly visits, some joint letters/online)
    collective = rng.random(n) < np.where(is_visit, 0.12, 0.009)
    crowd = np.minimum(5 + np.floor(rng.lognormal(2.0, 0.8, n)).astype(np.int64), 60)
    small_group = np.where(rng.random(n) < 0.05, rng.integers(2, 5, n), 1)
    persons = np.where(collective, crowd, small_group)

    # escalation to province / Beijing, mostly among visits
    u = rng.random(n)
    p_prov = np.where(is_visit, 0.10, 0.0065)
    p_bj = np.where(is_visit, 0.02, 0.0011)
    escalation = np.where(u < p_bj, 2, np.where(u < p_bj + p_prov, 1, 0))
    repeat = rng.random(n) < np.where(escalation > 0, 0.35, np.where(collective, 0.2, 0.09))

    track = _pick(rng, TRACK_WEIGHTS, n)
    general = track == 0
    dual = rng.random(n) < 0.30

    # acceptance: days after registration
    late_accept = general & (rng.random(n) < 0.035)
    accept_weights = np.array([12, 16, 16, 14, 11, 9, 7, 6, 5, 4, 2, 1, 1, 1, 1.0])  # 1..15 days
    accept_general = 1 + _pick(rng, accept_weights, n)
    accept_fast = rng.integers(0, np.array([11, 4, 2, 3])[track])  # general unused here
    accept_delay = np.where(
        late_accept, rng.integers(16, 31, n), np.where(general, accept_general, accept_fast)
    )
    accepted = reg + accept_delay

    # handling: days from acceptance to closure (on time unless late)
    late_close = general & (rng.random(n) < 0.035)
    handle_general = np.clip(np.round(rng.gamma(4.0, 7.0, n)), 5, 60).astype(np.int64)
    handle_fast = rng.integers(np.array([5, 3, 0, 3])[track], np.array([61, 16, 6, 21])[track])
    handle = np.where(
        late_close, rng.integers(61, 101, n), np.where(general, handle_general, handle_fast)
    )
    closed = accepted + handle
    replied = np.maximum(accepted, closed - _pick(rng, np.array([60, 25, 10, 5.0]), n))
    contacted = np.minimum(accepted + _pick(rng, np.array([35, 35, 20, 10.0]), n), replied)
    handled = contacted + np.floor(rng.random(n) * (replied - contacted + 1)).astype(np.int64)
    handled = np.minimum(handled, replied)

    # evaluation and satisfaction, resolution
    evaluated = rng.random(n) < 0.85
    evaluated_on = closed + _pick(rng, np.array([30, 25, 15, 10, 8, 5, 4, 3.0]), n)
    u = rng.random(n)
    p_unsatisfied = np.where(late_close | late_accept, 0.08, 0.028)
    satisfaction = np.where(u < p_unsatisfied, 2, np.where(u < p_unsatisfied + 0.17, 1, 0))
    resolved = rng.random(n) < np.where(satisfaction == 2, 0.6, 0.97)

    # backlog: older, repeat, collective, escalated and hot-township cases first
    n_backlog = int(round(0.03 * n))
    age = today - reg
    log_w = np.where(age >= 180, np.log(np.maximum(age, 1) / 365.0) * 0.8, -np.inf)
    log_w = (
        log_w
        + np.log(4.0) * repeat
        + np.log(5.0) * collective
        + np.log(3.0) * (escalation > 0)
        + np.log(3.0) * city.hot[township]
        + np.log(1.5) * np.isin(domain, [1, 3, 4, 6, 9])
    )
    backlog_ids = _top_k(rng, log_w, n_backlog)
    is_backlog = np.zeros(n, dtype=bool)
    is_backlog[backlog_ids] = True
    b = len(backlog_ids)
    source = _pick(rng, np.array([0.15, 0.30, 0.55]), b)
    b_escalation = escalation[backlog_ids]
    source = np.where(b_escalation == 2, np.where(rng.random(b) < 0.6, 0, source), source)
    source = np.where(b_escalation == 1, np.where(rng.random(b) < 0.5, 1, source), source)
    # about 11% still unresolved at `until`, the younger ones more often
    unresolved_pick = _top_k(rng, -age[backlog_ids] / 365.0, int(round(0.11 * b)))
    b_unresolved = np.zeros(b, dtype=bool)
    b_unresolved[unresolved_pick] = True
    b_accepted = accepted[backlog_ids]
    # resolved: between two months after acceptance and `until`
    low = np.maximum(b_accepted + 61, today - 540)
    low = np.minimum(low, today)
    b_resolved_on = low + np.floor(rng.beta(1.3, 1.8, b) * (today - low + 1)).astype(np.int64)
    b_resolved_on = np.minimum(b_resolved_on, today)
    target_offset = np.where(
        rng.random(b) < 0.85, rng.integers(0, 151, b), rng.integers(-60, 0, b)
    )
    b_target = _month_end(b_resolved_on + target_offset, origin)
    # unresolved: most were replied and closed within the handling limit but the matter
    # is not settled, so they stay on the clearance list and are supervised against their
    # clearance target: red (target passed) / yellow (≤5 days left) / green. Three in five
    # of the red ones are instead still being handled, long past their handling deadline
    # (backlog cases are at least 180 days old), which makes them red whatever the target.
    b_age = today - b_accepted
    color = _pick(rng, np.array([0.15, 0.20, 0.65]), b)
    still_handling = b_unresolved & (color == 0) & (rng.random(b) < 0.6)
    b_closed_unresolved = b_accepted + np.clip(np.round(rng.gamma(4.0, 8.0, b)), 10, 60).astype(np.int64)
    month_start = (np.datetime64(until, "M").astype("datetime64[D]") - origin).astype(np.int64)
    red_target = _month_end(month_start - rng.integers(1, 100, b), origin)
    yellow_target = today + rng.integers(0, 6, b)
    green_target = _month_end(
        today + np.maximum(6, np.ceil(0.25 * b_age).astype(np.int64) + 1) + rng.integers(0, 120, b),
        origin,
    )
    open_target = np.where(
        color == 0, red_target, np.where(color == 1, yellow_target, green_target)
    )
    b_target = np.where(b_unresolved, open_target, b_target)
    # leaders: mostly a county-level leader of the county, some city or township level
    level = _pick(rng, np.array([0.70, 0.12, 0.18]), b)  # county / city / township
    b_township = township[backlog_ids]
    b_county = county[backlog_ids]
    county_pick = rng.random(b)
    county_leader = np.array(
        [
            city.county_leaders[c][int(f * len(city.county_leaders[c]))]
            for c, f in zip(b_county.tolist(), county_pick.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    city_leader = city.city_leaders[rng.integers(0, len(city.city_leaders), b)]
    township_leader = city.township_leader[b_township]
    leader_b = np.where(
        level == 1,
        city_leader,
        np.where((level == 2) & (township_leader > 0), township_leader, county_leader),
    )

    # apply the backlog plan
    b_closed = np.where(b_unresolved, b_closed_unresolved, b_resolved_on)
    closed[backlog_ids] = np.where(still_handling, NEVER, b_closed)
    replied[backlog_ids] = np.where(
        still_handling,
        NEVER,
        np.maximum(b_accepted, b_closed - rng.integers(0, 4, b)),
    )
    b_handled_end = np.where(still_handling, today, replied[backlog_ids])
    b_contacted = np.minimum(contacted[backlog_ids], b_handled_end)
    contacted[backlog_ids] = b_contacted
    handled[backlog_ids] = b_contacted + np.floor(
        rng.random(b) * (b_handled_end - b_contacted + 1)
    ).astype(np.int64)
    evaluated_on[backlog_ids] = closed[backlog_ids] + rng.integers(0, 8, b)
    backlog_satisfaction = _pick(rng, np.array([0.62, 0.30, 0.08]), b)
    # closed but not settled: the petitioner is less often satisfied
    unsettled_satisfaction = _pick(rng, np.array([0.30, 0.40, 0.30]), b)
    satisfaction[backlog_ids] = np.where(b_unresolved, unsettled_satisfaction, backlog_satisfaction)
    resolved[backlog_ids] = ~b_unresolved

    backlog_source = np.full(n, -1)
    backlog_source[backlog_ids] = source
    clearance_target = np.full(n, NEVER)
    clearance_target[backlog_ids] = b_target
    leader = np.zeros(n, dtype=np.int64)
    leader[backlog_ids] = leader_b
    # a few notable non-backlog cases (collective, to Beijing) also get a leader
    notable = ~is_backlog & (collective | (escalation == 2)) & (rng.random(n) < 0.3)
    notable_level = rng.random(n) < 0.8
    notable_county = np.array(
        [city.county_leaders[c][0] for c in range(len(city.county_codes))]
    )[county]
    leader = np.where(
        notable,
        np.where(notable_level, notable_county, city.city_leaders[2]),
        leader,
    )

    # the state as of `until`
    accepted = np.where(accepted <= today, accepted, NEVER)
    is_accepted = accepted != NEVER
    closed = np.where(is_accepted & (closed <= today), closed, NEVER)
    is_closed = closed != NEVER
    replied = np.where(is_accepted & (replied <= today), replied, NEVER)
    contacted = np.where(is_accepted & (contacted <= today), contacted, NEVER)
    handled = np.where(is_accepted & (handled <= today), handled, NEVER)
    evaluated = is_closed & evaluated & (evaluated_on <= today)
    evaluated_on = np.where(evaluated, evaluated_on, NEVER)
    satisfaction = np.where(evaluated, satisfaction, -1)
    resolved = np.where(is_backlog, resolved, resolved & is_closed)
    handling_due = np.where(is_accepted, accepted + 60, NEVER)

    return {
        "origin": origin,
        "today": today,  # day offset of `until`
        "reg": reg,
        "township": township,
        "county": county,
        "channel": channel,
        "domain": domain,
        "persons": persons,
        "collective": collective,
        "escalation": escalation,
        "repeat": repeat,
        "track": track,
        "dual": dual,
        "accepted": accepted,
        "acceptance_due": reg + 15,
        "handling_due": handling_due,
        "contacted": contacted,
        "handled": handled,
        "replied": replied,
        "closed": closed,
        "evaluated_on": evaluated_on,
        "satisfaction": satisfaction,
        "resolved": resolved,
        "is_backlog": is_backlog,
        "backlog_source": backlog_source,
        "clearance_target": clearance_target,
        "leader": leader,
        # personal details and wording
        "surname": rng.integers(0, len(SURNAMES), n, dtype=np.int16),
        "given": rng.integers(0, len(GIVEN_CHARS), (n, 2), dtype=np.int16),
        "given_len": np.where(rng.random(n) < 0.3, 1, 2).astype(np.int8),
        "phone": rng.integers(0, 10**9, n, dtype=np.int32),
        "birth_age_days": rng.integers(20 * 365, 80 * 365, n, dtype=np.int32),
        "id_seq": rng.integers(0, 1000, n, dtype=np.int16),
        "summary": rng.integers(0, 60, n, dtype=np.int8),
        "summary_end": rng.integers(0, len(SUMMARY_ENDINGS), n, dtype=np.int8),
        "notes": rng.integers(0, 6, (n, 5), dtype=np.int8),
        "handled_by_bureau": dual & (rng.random(n) < 0.5),
        "times": rng.integers(0, WORKDAY_SECONDS, (n, len(EVENT_KINDS)), dtype=np.int32),
        "gaps": rng.integers(300, 5400, (n, len(EVENT_KINDS)), dtype=np.int32),
    }


# ---------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------


def _date_list(days: np.ndarray, origin: np.datetime64) -> list:
    values = np.where(days == NEVER, np.datetime64("NaT"), origin + days.astype("timedelta64[D]"))
    return values.astype("datetime64[D]").astype(object).tolist()


def _id_numbers(plan: dict, sl: slice, city: _City, reg_dates: np.ndarray) -> list[str]:
    """Fictional 18-character ID numbers: region 99xxxx (no such province), a birth date,
    a sequence and a valid ISO 7064 MOD 11-2 check character."""
    county = plan["county"][sl]
    prefix = np.array([int(code) for code in city.county_codes])[county]
    birth = reg_dates - plan["birth_age_days"][sl].astype("timedelta64[D]")
    ymd = pd.DatetimeIndex(birth)
    number17 = (
        prefix.astype(np.int64) * 10**11
        + ymd.year.to_numpy().astype(np.int64) * 10**7
        + ymd.month.to_numpy().astype(np.int64) * 10**5
        + ymd.day.to_numpy().astype(np.int64) * 10**3
        + plan["id_seq"][sl]
    )
    digits = (number17[:, None] // 10 ** np.arange(16, -1, -1)) % 10
    factors = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = np.array(list("10X98765432"))[(digits * factors).sum(axis=1) % 11]
    return [f"{a:017d}{c}" for a, c in zip(number17.tolist(), check.tolist(), strict=True)]


def _case_numbers(plan: dict, city: _City) -> np.ndarray:
    years = (plan["origin"] + plan["reg"].astype("timedelta64[D]")).astype("datetime64[Y]")
    years = years.astype(np.int64) + 1970
    key = years * 100 + plan["county"]
    seq = pd.Series(key).groupby(key, sort=False).cumcount().to_numpy() + 1
    suffix = np.array([code[-2:] for code in city.county_codes])[plan["county"]]
    return np.array(
        [f"YX{y}-{c}-{s:06d}" for y, c, s in zip(years.tolist(), suffix.tolist(), seq.tolist(),
                                                  strict=True)],
        dtype=object,
    )


def _case_rows(plan: dict, sl: slice, city: _City, case_no: np.ndarray) -> list[dict]:
    origin = plan["origin"]
    ids = np.arange(sl.start + 1, sl.stop + 1)
    reg_dates = origin + plan["reg"][sl].astype("timedelta64[D]")
    township = plan["township"][sl]
    domain = plan["domain"][sl]

    surnames = np.array(SURNAMES, dtype=object)[plan["surname"][sl]]
    given = np.array(GIVEN_CHARS, dtype=object)[plan["given"][sl]]
    one = plan["given_len"][sl] == 1
    names = np.where(one, surnames + given[:, 0], surnames + given[:, 0] + given[:, 1])
    phones = [f"13{p:09d}" for p in plan["phone"][sl].tolist()]

    templates = np.array(
        [SUMMARIES[d][i % len(SUMMARIES[d])] for d in DOMAIN_CODES for i in range(60)],
        dtype=object,
    ).reshape(len(DOMAIN_CODES), 60)[domain, plan["summary"][sl]]
    collective = plan["collective"][sl]
    persons = plan["persons"][sl]
    street = city.township_is_street[township]
    who = np.where(street, "居民", "村民")
    place = np.array(city.township_names, dtype=object)[township]
    together = np.where(plan["channel"][sl] == CHANNEL_CODES.index("visit"), "集体来访", "联名")
    summaries = [
        f"{p}{n}名{w}{g}{t}{e}" if c else f"{p}{w}{t}{e}"
        for p, n, w, g, t, e, c in zip(
            place.tolist(), persons.tolist(), who.tolist(), together.tolist(), templates.tolist(),
            np.array(SUMMARY_ENDINGS, dtype=object)[plan["summary_end"][sl]].tolist(),
            collective.tolist(), strict=True,
        )
    ]
    competent = np.where(plan["dual"][sl], city.bureau_for_domain[domain], 0)
    leader = plan["leader"][sl]
    source = plan["backlog_source"][sl]
    satisfaction = plan["satisfaction"][sl]
    resolved = plan["resolved"][sl]
    closed = plan["closed"][sl]
    resolved_on = np.where(
        resolved, np.where(closed != NEVER, closed, plan["clearance_target"][sl]), NEVER
    )

    columns = {
        "id": ids.tolist(),
        "case_no": case_no[sl].tolist(),
        "registered_on": _date_list(plan["reg"][sl], origin),
        "channel": np.array(CHANNEL_CODES, dtype=object)[plan["channel"][sl]].tolist(),
        "petitioner_name": names.tolist(),
        "petitioner_phone": phones,
        "petitioner_id_no": _id_numbers(plan, sl, city, reg_dates),
        "persons": persons.tolist(),
        # 集体访: visits of five or more persons only (joint letters and online cases are not)
        "is_collective": (collective & (np.array(CHANNEL_CODES, dtype=object)[plan["channel"][sl]] == "visit"))
        .tolist(),
        "county_code": np.array(city.county_codes, dtype=object)[plan["county"][sl]].tolist(),
        "township_code": np.array(city.township_codes, dtype=object)[township].tolist(),
        "domain": np.array(DOMAIN_CODES, dtype=object)[domain].tolist(),
        "summary": summaries,
        "responsible_unit_id": city.township_unit[township].tolist(),
        "competent_unit_id": [c or None for c in competent.tolist()],
        "track": np.array(TRACK_CODES, dtype=object)[plan["track"][sl]].tolist(),
        "accepted_on": _date_list(plan["accepted"][sl], origin),
        "acceptance_due": _date_list(plan["acceptance_due"][sl], origin),
        "handling_due": _date_list(plan["handling_due"][sl], origin),
        "replied_on": _date_list(plan["replied"][sl], origin),
        "closed_on": _date_list(closed, origin),
        "resolved": resolved.tolist(),
        "resolved_on": _date_list(resolved_on, origin),
        "satisfaction": [SATISFACTION_CODES[s] if s >= 0 else None for s in satisfaction.tolist()],
        "is_backlog": plan["is_backlog"][sl].tolist(),
        "backlog_source": [BACKLOG_SOURCES[s] if s >= 0 else None for s in source.tolist()],
        "clearance_target": _date_list(plan["clearance_target"][sl], origin),
        "leader_id": [x or None for x in leader.tolist()],
        "escalation": np.array(ESCALATION_CODES, dtype=object)[plan["escalation"][sl]].tolist(),
        "is_repeat": plan["repeat"][sl].tolist(),
    }
    keys = list(columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _case_unit_rows(plan: dict, sl: slice, city: _City) -> list[dict]:
    ids = np.arange(sl.start + 1, sl.stop + 1)
    township_unit = city.township_unit[plan["township"][sl]]
    rows = [
        {"case_id": c, "unit_id": u, "role": "territory"}
        for c, u in zip(ids.tolist(), township_unit.tolist(), strict=True)
    ]
    dual = plan["dual"][sl]
    bureau = city.bureau_for_domain[plan["domain"][sl]]
    rows.extend(
        {"case_id": c, "unit_id": u, "role": "competent"}
        for c, u in zip(ids[dual].tolist(), bureau[dual].tolist(), strict=True)
    )
    return rows


def _event_rows(plan: dict, sl: slice, city: _City, first_id: int) -> list[dict]:
    """The events of the cases in `sl`, ordered by case then chain, ids from first_id."""
    origin_s = plan["origin"].astype("datetime64[s]").astype(np.int64)
    n = sl.stop - sl.start
    ids = np.arange(sl.start + 1, sl.stop + 1)
    days = np.stack(
        [
            plan["reg"][sl],
            plan["accepted"][sl],
            plan["contacted"][sl],
            plan["handled"][sl],
            plan["replied"][sl],
            plan["closed"][sl],
            plan["evaluated_on"][sl],
        ],
        axis=1,
    )
    present = days != NEVER
    # working-hours time of day (seconds of the working day, then clock time); a step
    # on the same day as the previous one comes 5 minutes to 1.5 hours after it
    work = plan["times"][sl].copy()
    gaps = plan["gaps"][sl]
    for k in range(1, len(EVENT_KINDS)):
        same_day = days[:, k] == days[:, k - 1]
        work[:, k] = np.where(
            same_day,
            np.minimum(np.maximum(work[:, k], work[:, k - 1] + gaps[:, k]), WORKDAY_SECONDS - 1),
            work[:, k],
        )
    half = WORKDAY_SECONDS // 2
    tod = np.where(work < half, 8.5 * 3600 + work, 14 * 3600 + work - half)
    # The sample is loaded during its last day: that day's steps are squeezed into the
    # first half hour of work, 8:30–9:00 (order kept), so no event lies later that day.
    last_day = days == plan["today"]
    tod = np.where(last_day, 8.5 * 3600 + work * (1800 / WORKDAY_SECONDS), tod)
    seconds = np.where(present, days * 86400 + tod.astype(np.int64), np.iinfo(np.int64).min)
    seconds = np.maximum.accumulate(seconds, axis=1)
    seconds = np.where(present, seconds, 0)

    responsible = city.township_unit[plan["township"][sl]]
    bureau = city.bureau_for_domain[plan["domain"][sl]]
    dual = plan["dual"][sl]
    backlog = plan["is_backlog"][sl]
    notes = plan["notes"][sl]
    satisfaction = plan["satisfaction"][sl]
    handler = np.where(plan["handled_by_bureau"][sl], bureau, responsible)
    unit_name = city.unit_names

    rows: list[dict] = []
    next_id = first_id
    case_list = ids.tolist()
    present_list = present.tolist()
    at_list = (seconds + origin_s).astype("datetime64[s]").astype(object).tolist()
    resp_list = responsible.tolist()
    bureau_list = bureau.tolist()
    dual_list = dual.tolist()
    backlog_list = backlog.tolist()
    notes_list = notes.tolist()
    sat_list = satisfaction.tolist()
    handler_list = handler.tolist()
    n_contacted = len(NOTES["contacted"])
    n_handled = len(NOTES["handled"])
    n_replied = len(NOTES["replied"])
    n_feedback = len(NOTES["feedback"])
    sat_labels = ("满意", "基本满意", "不满意")
    for i in range(n):
        unit = unit_name[resp_list[i]]
        has = present_list[i]
        at = at_list[i]
        case_id = case_list[i]
        note_idx = notes_list[i]
        dispatched_note = (
            f"一事双交：转{unit}、{unit_name[bureau_list[i]]}办理"
            if dual_list[i]
            else f"转{unit}办理"
        )
        chain = (
            (PETITION_BUREAU, dispatched_note),
            (unit, "已受理并告知信访人"),
            (unit, NOTES["contacted"][note_idx[0] % n_contacted]),
            (
                unit_name[handler_list[i]],
                NOTES["handled_backlog" if backlog_list[i] else "handled"][note_idx[1] % n_handled],
            ),
            (unit, NOTES["replied"][note_idx[2] % n_replied]),
            (unit, NOTES["feedback"][note_idx[3] % n_feedback]),
            (PETITION_BUREAU, f"信访人评价：{sat_labels[sat_list[i]]}" if sat_list[i] >= 0 else ""),
        )
        for k in range(7):
            if not has[k]:
                break
            actor, note = chain[k]
            rows.append(
                {"id": next_id, "case_id": case_id, "kind": EVENT_KINDS[k], "at": at[k],
                 "actor": actor, "note": note}
            )
            next_id += 1
    return rows


# ---------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------


def load_sample(
    engine: Engine,
    cases: int = config.DEFAULT_SAMPLE_CASES,
    seed: int = config.DEFAULT_SAMPLE_SEED,
    until: dt.date | None = None,
    progress: Progress | None = None,
    deadlines: bool = False,
) -> dict:
    """Fill an empty schema with the sample city and `cases` cases registered over the
    three years ending at `until` (default: `dashboard.config.today()`).

    Deterministic for a given (cases, seed, until). Returns
    {"regions", "units", "leaders", "cases", "events", "seconds"}.

    `deadlines=True` writes each case with the deadlines `dashboard.deadlines.recompute`
    would give it (same functions, same rules and calendar), so the caller need not
    rewrite every case afterwards (the summary then has "deadlines": True).
    """
    started = time.perf_counter()
    until = until or config.today()
    n = int(cases)
    if n < 0:
        raise ValueError("cases must be >= 0")

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    report(0.0, "正在生成示例城市…")
    rng = np.random.default_rng(seed)
    city = _City(rng)
    with engine.begin() as conn:
        existing = conn.execute(sa.select(sa.func.count()).select_from(models.regions)).scalar_one()
        if existing:
            raise RuntimeError("数据库中已有区划数据，示例数据只能载入空库。")
        conn.execute(models.regions.insert(), city.regions)
        conn.execute(models.units.insert(), city.units)
        conn.execute(models.leaders.insert(), city.leaders)

    report(0.02, "正在生成案件…")
    plan = _plan_cases(n, until, city, rng)
    case_no = _case_numbers(plan, city)
    report(0.05, "正在写入案件…")
    rules = _deadline_rules(engine) if deadlines else None

    n_events = 0
    with engine.connect() as conn, _bulk_load(conn, report):
        for first in range(0, n, CHUNK):
            sl = slice(first, min(first + CHUNK, n))
            case_rows = _case_rows(plan, sl, city, case_no)
            unit_rows = _case_unit_rows(plan, sl, city)
            event_rows = _event_rows(plan, sl, city, n_events + 1)
            if rules is not None:
                _add_deadlines(case_rows, rules)
            with conn.begin():
                _write_rows(conn, models.cases, case_rows)
                _write_rows(conn, models.case_units, unit_rows)
                _write_rows(conn, models.case_events, event_rows)
            n_events += len(event_rows)
            report(0.05 + 0.9 * sl.stop / max(n, 1), f"正在写入案件 {sl.stop:,}/{n:,}…")

    _sync_sequences(engine)
    # Receptions, referrals, 回访 … (the accountability loop)
    from sample_data.accountability import add_records

    add_records(engine, until, seed)
    report(1.0, "示例数据已生成")
    return {
        "regions": len(city.regions),
        "units": len(city.units),
        "leaders": len(city.leaders),
        "cases": n,
        "events": n_events,
        "seconds": round(time.perf_counter() - started, 2),
    } | ({"deadlines": True} if deadlines else {})


def _deadline_rules(engine: Engine) -> tuple:
    """What `dashboard.deadlines.recompute` reads before computing (presets seeded the
    same way when missing)."""
    from dashboard import deadlines, workdays

    with engine.begin() as conn:
        presets = deadlines.load_presets(conn)
        if deadlines.DEFAULT_PRESET not in presets:
            deadlines.seed_presets(conn)
            presets = deadlines.load_presets(conn)
        return (presets, deadlines.load_assignments(conn), deadlines.city_code(conn),
                workdays.load_calendar(conn))


def _add_deadlines(case_rows: list[dict], rules: tuple) -> None:
    """Put into each new case row the deadline columns recompute would store for it."""
    from dashboard import deadlines

    presets, assignments, city, calendar = rules
    frame = pd.DataFrame.from_records(
        case_rows, columns=["registered_on", "accepted_on", "track", "county_code", "is_repeat"]
    ).assign(extension_days=0)
    names = deadlines.preset_names(frame, assignments, city)
    new = deadlines.compute(frame.assign(preset=names), presets, calendar)
    new["preset"] = names
    columns = [new[c].tolist() for c in deadlines._OUTPUTS]
    for row, values in zip(case_rows, zip(*columns, strict=True), strict=True):
        row.update(zip(deadlines._OUTPUTS, values, strict=True))


# Bulk writing (`dashboard.db.bulk_insert`): the rows are the same dicts on every
# database (what SQLAlchemy's executemany would insert, column defaults included); only
# the way they reach the database differs: COPY on PostgreSQL, a DBAPI executemany on SQLite.
BULK_TABLES = ("cases", "case_units", "case_events")
_write_rows = bulk_insert  # a module name of its own: the tests swap it for SQLAlchemy's insert


class _bulk_load:
    """Context for writing the sample's cases on `conn` (SQLAlchemy connection, no
    transaction open).

    SQLite: `synchronous=OFF` and a larger page cache while loading (a crash mid-load
    leaves a sample to rebuild anyway), restored afterwards.
    PostgreSQL: when the case tables are empty, their secondary indexes and foreign keys
    are dropped before the load and re-created (foreign keys validated) after it, which
    is several times faster than maintaining them row by row; then the tables are
    vacuumed and ANALYZEd. Their definitions are read from the catalog, so they come back exactly.
    If the load fails, everything is re-created all the same.
    """

    def __init__(self, conn, report) -> None:
        self.conn = conn
        self.report = report
        self.saved: list[tuple[str, str]] = []  # (kind, statement to re-create)
        self.pragmas: dict[str, object] = {}

    def __enter__(self):
        conn = self.conn
        if conn.dialect.name == "sqlite":
            for name, value in (("synchronous", 0), ("cache_size", -262144)):
                self.pragmas[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                conn.exec_driver_sql(f"PRAGMA {name}={value}")
            conn.commit()
        elif conn.dialect.name == "postgresql":
            with conn.begin():
                empty = all(
                    conn.exec_driver_sql(f"SELECT NOT EXISTS (SELECT 1 FROM {t})").scalar()
                    for t in BULK_TABLES
                )
                if empty:
                    self._drop_indexes_and_keys()
        return self

    def _drop_indexes_and_keys(self) -> None:
        conn = self.conn
        tables = "ARRAY['" + "','".join(BULK_TABLES) + "']"
        keys = conn.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.contype = 'f' "
            f"AND c.conrelid::regclass::text = ANY({tables}) ORDER BY 1, 2"
        ).all()
        indexes = conn.exec_driver_sql(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
            f"WHERE i.indrelid::regclass::text = ANY({tables}) AND c.oid IS NULL ORDER BY 1"
        ).all()
        for table, name, definition in keys:
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            self.saved.append(("key", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for name, definition in indexes:
            conn.exec_driver_sql(f"DROP INDEX {name}")
            self.saved.append(("index", definition))

    def __exit__(self, *exc) -> None:
        conn = self.conn
        if conn.in_transaction():
            conn.rollback()
        if conn.dialect.name == "sqlite":
            for name, value in self.pragmas.items():
                conn.exec_driver_sql(f"PRAGMA {name}={value}")
            conn.commit()
        elif conn.dialect.name == "postgresql":
            if self.saved:
                self.report(0.95, "正在建立索引…")
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
                for _kind, statement in sorted(self.saved, key=lambda s: s[0] != "index"):
                    conn.exec_driver_sql(statement)
            self.report(0.98, "正在更新统计信息…")
            # VACUUM as well: it marks the freshly written pages all-visible, without
            # which PostgreSQL's index-only scans (the leader board's, the last step of
            # a case) read every row from the table until autovacuum gets there
            conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in BULK_TABLES:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def _sync_sequences(engine: Engine) -> None:
    """PostgreSQL: ids were given explicitly, so move the serial sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in (models.units, models.leaders, models.cases, models.case_events):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )
