"""Timing of the ledger import (issue 7), not part of the test suite:

    python -m tests.bench_ledger_import [--rows 100000] [--cases 50000] [--runs 3]

Builds a sample database of `--cases` cases once, writes a CSV ledger of `--rows` new
cases (mixed date formats, names of the sample city's regions, units and leaders),
then for each run copies the database and times `python -m dashboard import FILE --json`
twice: the first import (all rows new) and the same file again (all unchanged).
Prints the medians."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from dashboard import db
from dashboard.labels import CHANNELS, DOMAINS, SATISFACTION
from dashboard.models import leaders, regions, units

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["信访件编号", "登记日期", "信访形式", "信访人", "联系电话", "人数", "所属县区", "所属乡镇", "问题类别",
          "诉求摘要", "责任单位", "主管部门", "受理日期", "答复日期", "办结日期", "是否化解", "满意度", "是否积案",
          "包案领导", "越级情况", "是否重复"]


def write_ledger(path: Path, url: str, rows: int, seed: int = 7) -> None:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        towns = conn.execute(sa.select(regions.c.name, regions.c.parent_code).where(regions.c.level == "township")).all()
        counties = dict(conn.execute(sa.select(regions.c.code, regions.c.name).where(regions.c.level == "county")).all())
        unit_names = list(conn.execute(sa.select(units.c.name)).scalars())
        leader_names = list(conn.execute(sa.select(leaders.c.name)).scalars())
    engine.dispose()
    rng = random.Random(seed)
    formats = ("{:%Y-%m-%d}", "{:%Y/%-m/%-d}", "{:%Y年%-m月%-d日}", "{:%Y.%-m.%-d}")
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["云溪市信访事项台账（基准测试）"])
        writer.writerow(HEADER)
        for i in range(rows):
            town, county = rng.choice(towns)
            registered = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(680))
            accepted = registered + dt.timedelta(days=rng.randrange(1, 10))
            closed = accepted + dt.timedelta(days=rng.randrange(5, 60)) if rng.random() < 0.7 else None
            backlog = rng.random() < 0.05
            writer.writerow([
                f"BM{registered:%Y}-{i:07d}", rng.choice(formats).format(registered), rng.choice(list(CHANNELS.values())),
                "张三", "13800000000", rng.choice((1, 1, 1, 2, 6)), counties[county], town,
                rng.choice(list(DOMAINS.values())), f"{town}群众反映问题（第 {i} 件），要求解决；请核实。",
                rng.choice(unit_names), rng.choice(unit_names) if rng.random() < 0.3 else "",
                rng.choice(formats).format(accepted), rng.choice(formats).format(closed) if closed else "",
                rng.choice(formats).format(closed) if closed else "", "是" if closed and rng.random() < 0.8 else "否",
                rng.choice(list(SATISFACTION.values())) if closed and rng.random() < 0.6 else "",
                "是" if backlog else "否", rng.choice(leader_names) if backlog else "", "无", "否",
            ])


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    base = work / "base.db"
    env = dict(os.environ, DASHBOARD_TODAY="2026-11-20")
    if not base.exists():
        subprocess.run([sys.executable, "-m", "dashboard", "init", "--sample", "--cases", str(args.cases), "--json"],
                       cwd=ROOT, env=dict(env, DATABASE_URL=f"sqlite:///{base}"), check=True, capture_output=True)
    ledger = work / f"ledger_{args.rows}.csv"
    if not ledger.exists():
        write_ledger(ledger, f"sqlite:///{base}", args.rows)
    first, again = [], []
    for run in range(args.runs):
        copy = work / f"run{run}.db"
        shutil.copy(base, copy)
        run_env = dict(env, DATABASE_URL=f"sqlite:///{copy}")
        first.append(timed(["import", str(ledger), "--json"], run_env))
        again.append(timed(["import", str(ledger), "--json"], run_env))
        copy.unlink()
        print(f"run {run + 1}: new {first[-1]:.1f} s, unchanged {again[-1]:.1f} s", flush=True)
    print(f"{args.rows:,} rows on a {args.cases:,}-case database, median of {args.runs}: "
          f"import (new) {statistics.median(first):.1f} s, re-import (unchanged) {statistics.median(again):.1f} s")


if __name__ == "__main__":
    main()
