"""Creating the database, and filling it with the sample city on first run."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from dashboard import config, db
from dashboard.deadlines import recompute, seed_presets

Progress = Callable[[float, str], None]


class OutdatedDatabase(RuntimeError):
    """A database made by an older version of the product."""


class DatabaseNotEmpty(RuntimeError):
    """`init` on a database that already holds data, without --force."""


def initialise(
    engine: Engine,
    *,
    sample: bool,
    cases: int = config.DEFAULT_SAMPLE_CASES,
    seed: int = config.DEFAULT_SAMPLE_SEED,
    force: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Create the schema (and load the sample city). Refuses a non-empty database
    unless `force`, in which case every table is dropped first."""
    if not db.is_empty(engine):
        if not force:
            raise DatabaseNotEmpty(
                "数据库中已有数据，未做任何修改。如确需重建，请加 --force（将删除现有全部数据）。"
            )
        db.drop_schema(engine)
    started = time.perf_counter()
    db.create_schema(engine)
    with engine.begin() as conn:
        seed_presets(conn)
    summary: dict = {"sample": sample}
    if sample:
        from sample_data.generator import load_sample

        # Generating and writing take most of the time; deadlines the last few percent.
        scaled = (lambda fraction, message: progress(0.95 * fraction, message)) if progress else None
        summary.update(load_sample(engine, cases=cases, seed=seed, progress=scaled))
        if progress:
            progress(0.96, "按时限规则和节假日计算办理期限…")
        with engine.begin() as conn:
            recompute(conn)
        if progress:
            progress(1.0, "示例城市已就绪")
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def ensure_database(engine: Engine, progress: Progress | None = None) -> bool:
    """First run: create the database with the sample city. Returns True if it did."""
    if not db.is_empty(engine):
        missing = db.missing_columns(engine)
        if missing:
            raise OutdatedDatabase(
                f"数据库结构是旧版本（缺少 {len(missing)} 个字段，如 {missing[0]}）。"
                "请备份后运行 `python -m dashboard init --sample --force` 重建示例库，或重新导入台账。"
            )
        db.create_schema(engine)  # tables added since the database was made
        with engine.begin() as conn:
            seed_presets(conn)
        return False
    initialise(engine, sample=True, progress=progress)
    return True
