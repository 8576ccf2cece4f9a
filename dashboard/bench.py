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
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from dashboard import config, db
from dashboard.setup import initialise

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

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs) * 1000

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "scope": self.scope,
            "median_ms": round(self.median_ms, 1),
            "min_ms": round(min(self.runs) * 1000, 1),
            "max_ms": round(max(self.runs) * 1000, 1),
            "runs": len(self.runs),
            "target_ms": self.target_ms,
            "within_target": None if self.target_ms is None else self.median_ms <= self.target_ms,
        }


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

    # AppTest resets Streamlit's log levels on every run; a filter stays, and drops the
    # bare-mode notice ("missing ScriptRunContext") printed for each visit.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "ScriptRunContext" not in record.getMessage())

    app = str(config.PROJECT_ROOT / "streamlit_app.py")
    timings = []
    AppTest.from_file(app, default_timeout=600).run()  # first run: imports, region lists
    for name, path in PAGES:
        def visit(path=path):
            st.cache_data.clear()
            at = AppTest.from_file(app, default_timeout=600)
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


def run(cases: int, repeat: int, url: str | None = None, pages: bool = True,
        progress: Callable[[str], None] | None = None) -> dict:
    """Build a sample database of `cases` cases and time set-up, queries and pages."""
    from queries.filters import Filters, scope_for
    from queries.regions import counties

    say = progress or (lambda _message: None)
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as workdir:
        url = url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        engine = db.make_engine(url)
        if not db.is_empty(engine):
            raise ValueError("基准测试需要一个空数据库：--database-url 指向的库中已有数据，未做任何修改。")
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
                    timings.append(Timing(name, label, _time(lambda f=func, s=scope: f(conn, s, filters), repeat),
                                          QUERY_TARGET_MS))
        if pages:
            say("页面（AppTest，缓存清空）…")
            with _environment(url):
                timings += [Timing(f"page:{t.name}", t.scope, t.runs, t.target_ms) for t in _page_timings(repeat)]
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
        "repeat": repeat,
        "init_seconds": round(init_seconds, 2),
        "database_bytes": size,
        "timings": [t.as_dict() for t in timings],
        "ratios": ratios,
    }


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
        lines.append(
            f"== {result['cases']:,} 件（{result['database']}）：init --sample {result['init_seconds']:.1f} 秒"
            + (f"，数据库 {size / 1024 / 1024:.0f} MB" if size else "")
            + f"；每项 {result['repeat']} 次取中位数 =="
        )
        ratio = {r["name"]: r["county_to_city"] for r in result["ratios"]}
        for t in result["timings"]:
            flag = "" if t["within_target"] in (None, True) else f"  超出目标 {t['target_ms']:.0f} ms"
            extra = f"  县/市 {ratio[t['name']]:.2f}" if t["scope"] == "county" and t["name"] in ratio else ""
            lines.append(f"  {t['name']:<44} {t['scope']:<7} 中位 {t['median_ms']:>8.1f} ms"
                         f"（{t['min_ms']:.1f}–{t['max_ms']:.1f}）{extra}{flag}")
    for g in growth:
        lines.append(f"== {g['from_cases']:,} → {g['to_cases']:,} 件（×{g['case_ratio']}）："
                     f"init ×{g['init_ratio']} ==")
        for t in g["timings"]:
            lines.append(f"  {t['name']:<44} {t['scope']:<7} ×{t['ratio']}")
    return "\n".join(lines)
