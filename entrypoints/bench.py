"""Benchmarks (`python -m dashboard bench`): how long set-up, queries and pages take.

Performance targets live here, not in timed unit tests. Every figure is the median of
several runs (with min and max), and each comparison is given as a ratio, so one noisy
run on a shared machine does not decide anything.

Measured on a database made for the run (a temporary SQLite file unless `--database-url`
names an empty database): `init --sample` with N cases, then each page's query at city
and county scope, then each page as a whole through Streamlit's AppTest with the caches
cleared (what the first visitor after a data change waits for).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from dashboard import config, db
from entrypoints.setup import initialise

# Targets at the default sample size (50,000 cases) on a 2-core machine. A query or page
# over target is reported as such; the command's exit code stays 0 (a benchmark informs).
QUERY_TARGET_MS = 1_000
PAGE_TARGET_MS = 3_000


@dataclass(frozen=True)
class Timing:
    name: str
    scope: str
    runs: list[float]  # seconds
    target_ms: float | None = None
    floor_ms: float | None = None  # the same figures by plain SQL, one statement each

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs) * 1000

    @property
    def p95_ms(self) -> float:
        """Nearest-rank 95th percentile (the largest run when there are fewer than 20)."""
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))] * 1000

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "scope": self.scope,
            "median_ms": round(self.median_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "min_ms": round(min(self.runs) * 1000, 1),
            "max_ms": round(max(self.runs) * 1000, 1),
            "runs": len(self.runs),
            "target_ms": self.target_ms,
            "within_target": None if self.target_ms is None else self.median_ms <= self.target_ms,
            "floor_ms": None if self.floor_ms is None else round(self.floor_ms, 1),
            "floor_ratio": None if not self.floor_ms else round(self.median_ms / self.floor_ms, 2),
        }


# The floor of each page's figures: plain SQL written here, independently of queries/,
# one statement per figure (what a hand-written report would run). `{scope}` is the
# county condition of the scope. A query slower than its floor does avoidable work.
_OPEN = "(closed_on IS NULL OR closed_on > :as_of OR (is_backlog AND (resolved_on IS NULL OR resolved_on > :as_of)))"
_BACKLOG = "is_backlog AND registered_on <= :as_of AND (resolved_on IS NULL OR resolved_on > :as_of)"
FLOORS = {
    "kpi.indicators（总览指标）": [
        "SELECT count(*), sum(CASE WHEN channel = 'online' THEN 1 ELSE 0 END) FROM cases "
        "WHERE {scope} AND registered_on BETWEEN :start AND :as_of",
        "SELECT count(*), sum(CASE WHEN accepted_on <= acceptance_due THEN 1 ELSE 0 END) FROM cases "
        "WHERE {scope} AND accepted_on BETWEEN :start AND :as_of",
        "SELECT count(*), sum(CASE WHEN closed_on <= handling_due THEN 1 ELSE 0 END), count(satisfaction) "
        "FROM cases WHERE {scope} AND closed_on BETWEEN :start AND :as_of",
        f"SELECT count(*) FROM cases WHERE {{scope}} AND {_BACKLOG}",
        f"SELECT count(*) FROM cases WHERE {{scope}} AND registered_on <= :as_of AND {_OPEN}",
    ],
    "backlog.backlog_by_township（热力图）": [
        f"SELECT township_code, count(*) FROM cases WHERE {{scope}} AND {_BACKLOG} GROUP BY township_code",
    ],
    "supervision.colors_by_county（三色督办）": [
        "SELECT county_code, sum(CASE WHEN coalesce(handling_due, acceptance_due) < :as_of THEN 1 ELSE 0 END), "
        "count(*) FROM cases WHERE {scope} AND registered_on <= :as_of AND " + _OPEN + " GROUP BY county_code",
    ],
    "kpi.indicators_by_region（下钻）": [
        "SELECT township_code, count(*) FROM cases WHERE {scope} AND registered_on BETWEEN :start AND :as_of "
        "GROUP BY township_code",
        f"SELECT township_code, count(*) FROM cases WHERE {{scope}} AND {_BACKLOG} GROUP BY township_code",
    ],
    "rankings.ranking（排名）": [
        "SELECT township_code, count(*), sum(CASE WHEN closed_on <= handling_due THEN 1 ELSE 0 END) FROM cases "
        "WHERE {scope} AND closed_on BETWEEN :start AND :as_of GROUP BY township_code",
    ],
    "leaders.leader_board（领导包案）": [
        "SELECT leader_id, count(*) FROM cases WHERE {scope} AND is_backlog AND leader_id IS NOT NULL "
        "AND registered_on <= :as_of GROUP BY leader_id",
    ],
}


def _floor_seconds(conn, name: str, scope, as_of: dt.date, repeat: int) -> float | None:
    """Median time of the floor statements of `name`, summed."""
    statements = FLOORS.get(name)
    if not statements:
        return None
    if scope.level == "county":
        condition, params = "county_code = :county", {"county": scope.region_code}
    else:
        counties = conn.execute(sa.text("SELECT code FROM regions WHERE parent_code = :city"),
                                {"city": scope.region_code}).scalars().all()
        condition = "county_code IN (" + ", ".join(f"'{c}'" for c in counties) + ")"
        params = {}
    params |= {"as_of": as_of, "start": dt.date(as_of.year, 1, 1)}
    total = 0.0
    for statement in statements:
        text = sa.text(statement.format(scope=condition))
        total += statistics.median(_time(lambda t=text: conn.execute(t, params).all(), repeat))
    return total


def _time(func: Callable[[], object], repeat: int, warmup: bool = True) -> list[float]:
    if warmup:
        func()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        runs.append(time.perf_counter() - started)
    return runs


def _query_suite(conn, as_of: dt.date) -> list[tuple[str, Callable]]:
    """(name, function of (conn, scope, filters)) for the query behind each page."""
    from queries import backlog, drill, kpi, leaders, rankings, reminders, spot_check, supervision

    return [
        ("kpi.indicators（总览指标）", kpi.indicators),
        ("backlog.backlog_monthly（积案走势）", backlog.backlog_monthly),
        ("backlog.backlog_by_township（热力图）", backlog.backlog_by_township),
        ("backlog.backlog_township_month（乡镇×月份）", backlog.backlog_township_month),
        ("supervision.colors_by_county（三色督办）", supervision.colors_by_county),
        ("supervision.open_cases（在办清单）", supervision.open_cases),
        ("kpi.indicators_by_region（下钻）", lambda c, s, f: kpi.indicators_by_region(c, s, f)),
        ("drill.monthly_trend（下钻走势）", drill.monthly_trend),
        ("rankings.ranking（排名）",
         lambda c, s, f: rankings.ranking(c, s, f, "township", "on_time_closure_rate")),
        ("leaders.leader_board（领导包案）", leaders.leader_board),
        ("reminders.reminder_queue（催办）", lambda c, s, f: reminders.reminder_queue(c, s, f, as_of)),
        ("spot_check.candidate_frame（抽查候选）",
         lambda c, s, f: spot_check.candidate_frame(c, s, f, as_of, spot_check.CandidateOptions())),
    ]


PAGES = [
    ("overview", "pages/overview.py"),
    ("heatmap", "pages/heatmap.py"),
    ("supervision", "pages/supervision.py"),
    ("drill", "pages/drill.py"),
    ("rankings", "pages/rankings.py"),
    ("leaders", "pages/leaders.py"),
    ("reminders", "pages/reminders.py"),
    ("spot_check", "pages/spot_check.py"),
]


LEDGER_HEADER = ["信访件编号", "登记日期", "信访形式", "信访人", "联系电话", "人数", "所属县区", "所属乡镇", "问题类别",
                 "诉求摘要", "责任单位", "主管部门", "受理日期", "答复日期", "办结日期", "是否化解", "满意度", "是否积案",
                 "包案领导", "越级情况", "是否重复"]


def ledger_csv(conn, rows: int, prefix: str, seed: int = 7) -> bytes:
    """A CSV ledger of `rows` new cases as bureaus export them: a title row, mixed date
    formats, the Chinese labels, names of the database's regions, units and leaders."""
    import csv
    import io
    import random

    from dashboard.labels import CHANNELS, DOMAINS, SATISFACTION
    from dashboard.models import leaders, regions, units

    towns = conn.execute(sa.select(regions.c.name, regions.c.parent_code).where(regions.c.level == "township")).all()
    county_names = dict(conn.execute(sa.select(regions.c.code, regions.c.name).where(regions.c.level == "county")).all())
    unit_names = list(conn.execute(sa.select(units.c.name)).scalars())
    leader_names = list(conn.execute(sa.select(leaders.c.name)).scalars())
    rng = random.Random(seed)
    formats = ("{:%Y-%m-%d}", "{:%Y/%-m/%-d}", "{:%Y年%-m月%-d日}", "{:%Y.%-m.%-d}")
    first = config.today() - dt.timedelta(days=700)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["信访事项台账（基准测试）"])
    writer.writerow(LEDGER_HEADER)
    for i in range(rows):
        town, county = rng.choice(towns)
        # registered by 70 days ago: acceptance (≤ 9 days) and closing (≤ 59 more) stay in
        # the past, as the import's date check requires
        registered = first + dt.timedelta(days=rng.randrange(630))
        accepted = registered + dt.timedelta(days=rng.randrange(1, 10))
        closed = accepted + dt.timedelta(days=rng.randrange(5, 60)) if rng.random() < 0.7 else None
        backlog = rng.random() < 0.05
        writer.writerow([
            f"{prefix}{registered:%Y}-{i:07d}", rng.choice(formats).format(registered),
            rng.choice(list(CHANNELS.values())), "张三", "13800000000", rng.choice((1, 1, 1, 2, 6)),
            county_names[county], town, rng.choice(list(DOMAINS.values())),
            f"{town}群众反映问题（第 {i} 件），要求解决；请核实。",
            rng.choice(unit_names), rng.choice(unit_names) if rng.random() < 0.3 else "",
            rng.choice(formats).format(accepted), rng.choice(formats).format(closed) if closed else "",
            rng.choice(formats).format(closed) if closed else "", "是" if closed and rng.random() < 0.8 else "否",
            rng.choice(list(SATISFACTION.values())) if closed and rng.random() < 0.6 else "",
            "是" if backlog else "否", rng.choice(leader_names) if backlog else "", "无", "否",
        ])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def _import_timings(engine, rows: int, repeat: int) -> list[Timing]:
    """Import a ledger of `rows` new cases (read, check, write, deadlines: what
    `python -m dashboard import` does), then the same file again (all unchanged)."""
    from dashboard import actions, auth
    from dashboard.ledger import read_table

    with engine.connect() as conn:  # as the sample city's petition bureau, with its audit record
        actor = auth.actor_for(conn, auth.get_user(conn, "demo-bureau"), "cli")

    def load(data: bytes, expect: str) -> None:
        result = actions.import_ledger(engine, actor, read_table(data, "bench.csv"), file_name="bench.csv")
        if getattr(result, expect) != rows:
            raise RuntimeError(f"基准台账导入结果异常：{result.as_dict()}")

    new, again = [], []
    for run in range(repeat):
        with engine.connect() as conn:
            data = ledger_csv(conn, rows, prefix=f"BM{run}-")
        new += _time(lambda d=data: load(d, "new"), 1, warmup=False)
        again += _time(lambda d=data: load(d, "unchanged"), 1, warmup=False)
    return [Timing(f"import {rows:,} 行（新增）", "city", new), Timing(f"import {rows:,} 行（重复导入，未变）", "city", again)]


@contextlib.contextmanager
def _environment(url: str) -> Iterator[None]:
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved


def _page_timings(repeat: int) -> list[Timing]:
    """Each page from the entry point, caches cleared before every run."""
    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # AppTest resets Streamlit's log levels on every run; filters stay, and drop the
    # bare-mode notices printed for each visit.
    for name, notice in (("streamlit.runtime.scriptrunner_utils.script_run_context", "ScriptRunContext"),
                         ("streamlit.runtime.caching.cache_data_api", "No runtime found")):
        logging.getLogger(name).addFilter(lambda record, notice=notice: notice not in record.getMessage())

    from dashboard import auth

    if str(config.PROJECT_ROOT) not in sys.path:  # the pages are not installed: run from anywhere
        sys.path.insert(0, str(config.PROJECT_ROOT))
    from pages import charts
    from pages.session import ACTOR_KEY

    # Pages are visited signed in as the sample city's demo users (whole city): the
    # supervision office for the spot check, the petition bureau for the rest.
    with db.make_engine().connect() as conn:
        actors = {name: auth.actor_for(conn, auth.get_user(conn, name), "web")
                  for name in ("demo-bureau", "demo-supervision")}

    def signed_in(path: str) -> AppTest:
        at = AppTest.from_file(app, default_timeout=600)
        at.session_state[ACTOR_KEY] = actors["demo-supervision" if path == "pages/spot_check.py" else "demo-bureau"]
        return at

    app = str(config.PROJECT_ROOT / "streamlit_app.py")
    timings = []
    signed_in("").run()  # first run: imports, region lists
    for name, path in PAGES:
        def visit(path=path):
            st.cache_data.clear()
            charts.clear_cached_specs()  # cold: the charts too are built again
            at = signed_in(path)
            at.switch_page(path).run()  # straight to the page, as a link does
            if at.exception:
                raise RuntimeError(f"{path}: {at.exception[0].value}")

        timings.append(Timing(name, "city", _time(visit, repeat, warmup=False), PAGE_TARGET_MS))
    return timings


def _database_bytes(engine) -> int | None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # fold the write-ahead log into the file first
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(engine.url.database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    return None


def run(cases: int, repeat: int, url: str | None = None, pages: bool = True, import_rows: int = 0,
        progress: Callable[[str], None] | None = None, reuse: bool = False) -> dict:
    """Build a sample database of `cases` cases and time set-up, queries, pages and
    (with `import_rows`) a ledger import; the import comes last as it adds cases.

    `reuse`: time the already-loaded database at `url` as it is, read-only (no set-up,
    no import; `cases` and `init_seconds` then report its case count and None)."""
    from queries.filters import Filters, scope_for
    from queries.regions import counties

    say = progress or (lambda _message: None)
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as workdir:
        url = url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        engine = db.make_engine(url)
        if reuse:
            cases, init_seconds = _reused_cases(engine, url, import_rows), None
        elif not db.is_empty(engine):
            raise ValueError("基准测试需要一个空数据库：--database-url 指向的库中已有数据，未做任何修改。"
                             "如要直接测这个已有数据的库，请加 --reuse。")
        else:
            say(f"生成示例库（{cases:,} 件）…")
            started = time.perf_counter()
            initialise(engine, sample=True, cases=cases)
            init_seconds = time.perf_counter() - started
        size = _database_bytes(engine)

        as_of = config.today()
        filters = Filters()
        timings: list[Timing] = []
        with engine.connect() as conn:
            city = scope_for(conn)
            county = scope_for(conn, str(counties(conn, city)["code"].iloc[0]))
            for name, func in _query_suite(conn, as_of):
                say(f"查询 {name}…")
                for scope, label in ((city, "city"), (county, "county")):
                    runs = _time(lambda f=func, s=scope: f(conn, s, filters), repeat)
                    floor = _floor_seconds(conn, name, scope, as_of, repeat)
                    timings.append(Timing(name, label, runs, QUERY_TARGET_MS,
                                          None if floor is None else floor * 1000))
        if pages:
            say("页面（AppTest，缓存清空）…")
            with _environment(url):
                timings += [Timing(f"page:{t.name}", t.scope, t.runs, t.target_ms) for t in _page_timings(repeat)]
        if import_rows:
            say(f"台账导入（{import_rows:,} 行）…")
            timings += _import_timings(engine, import_rows, repeat)
        engine.dispose()

    medians = {(t.name, t.scope): t.median_ms for t in timings}
    ratios = [
        {"name": name, "county_to_city": round(medians[(name, "county")] / medians[(name, "city")], 3)}
        for name, scope in medians
        if scope == "city" and (name, "county") in medians and medians[(name, "city")] > 0
    ]
    return {
        "cases": cases,
        "database": engine.dialect.name,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "repeat": repeat,
        "init_seconds": None if init_seconds is None else round(init_seconds, 2),
        "database_bytes": size,
        "timings": [t.as_dict() for t in timings],
        "ratios": ratios,
    }


def _reused_cases(engine, url: str | None, import_rows: int) -> int:
    """The case count of the loaded database `--reuse` benchmarks, after checking it may."""
    from dashboard.models import cases as cases_table

    if not url:
        raise ValueError("--reuse 需要用 --database-url 指明一个已载入数据的库。")
    if import_rows:
        raise ValueError("--reuse 只读地测已有的库，不能与 --import-rows 同用（导入会改动库中数据）。")
    if not db.has_schema(engine):
        raise ValueError("--reuse：--database-url 指向的库还没有建库，请先运行 "
                         "`python -m dashboard init --sample --cases N`。")
    missing = db.missing_columns(engine)
    if missing:
        raise ValueError("--reuse：库结构不是最新（缺少 " + "、".join(missing[:5])
                         + "），请先运行 `python -m dashboard init` 就地升级。")
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(cases_table)).scalar_one()
    if not count:
        raise ValueError("--reuse：库中没有案件，请先运行 `python -m dashboard init --sample --cases N`。")
    return int(count)


def compare(results: list[dict]) -> list[dict]:
    """Growth of each median from the smallest to the largest sample: ratio of times
    next to the ratio of cases (1.0 per case-ratio means linear growth)."""
    small, large = results[0], results[-1]
    before = {(t["name"], t["scope"]): t["median_ms"] for t in small["timings"]}
    growth = []
    for t in large["timings"]:
        key = (t["name"], t["scope"])
        if before.get(key):
            growth.append({"name": t["name"], "scope": t["scope"],
                           "ratio": round(t["median_ms"] / before[key], 2)})
    return [{"from_cases": small["cases"], "to_cases": large["cases"],
             "case_ratio": round(large["cases"] / small["cases"], 2),
             "init_ratio": round(large["init_seconds"] / small["init_seconds"], 2), "timings": growth}]


def report(results: list[dict], growth: list[dict]) -> str:
    """The results as text for a terminal."""
    lines = []
    for result in results:
        size = result["database_bytes"]
        built = ("已有库（--reuse）" if result["init_seconds"] is None
                 else f"init --sample {result['init_seconds']:.1f} 秒")
        lines.append(
            f"== {result['cases']:,} 件（{result['database']}）：{built}"
            + (f"，数据库 {size / 1024 / 1024:.0f} MB" if size else "")
            + f"；每项 {result['repeat']} 次取中位数；进程峰值内存 {result['peak_rss_mb']:.0f} MB =="
        )
        ratio = {r["name"]: r["county_to_city"] for r in result["ratios"]}
        for t in result["timings"]:
            flag = "" if t["within_target"] in (None, True) else f"  超出目标 {t['target_ms']:.0f} ms"
            extra = f"  县/市 {ratio[t['name']]:.2f}" if t["scope"] == "county" and t["name"] in ratio else ""
            floor = f"  纯 SQL 下限 {t['floor_ms']:.1f} ms（×{t['floor_ratio']}）" if t.get("floor_ms") else ""
            lines.append(f"  {t['name']:<44} {t['scope']:<7} 中位 {t['median_ms']:>8.1f} ms p95 {t['p95_ms']:.1f}"
                         f"（{t['min_ms']:.1f}–{t['max_ms']:.1f}）{extra}{floor}{flag}")
    for g in growth:
        lines.append(f"== {g['from_cases']:,} → {g['to_cases']:,} 件（×{g['case_ratio']}）："
                     f"init ×{g['init_ratio']} ==")
        for t in g["timings"]:
            lines.append(f"  {t['name']:<44} {t['scope']:<7} ×{t['ratio']}")
    return "\n".join(lines)
