"""Runtime configuration, read from the environment once per call."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "dashboard.db"
DEFAULT_SAMPLE_CASES = 50_000
DEFAULT_SAMPLE_SEED = 20260101


def database_url() -> str:
    """`DATABASE_URL` or a SQLite file under data/ (git-ignored)."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_PATH}"


def today() -> dt.date:
    """The business date. `DASHBOARD_TODAY` (ISO date) pins it for tests and demos."""
    pinned = os.environ.get("DASHBOARD_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    return dt.date.today()


def attachments_dir() -> Path:
    """Where case attachments are stored (`ATTACHMENTS_DIR`, default data/attachments)."""
    return Path(os.environ.get("ATTACHMENTS_DIR") or PROJECT_ROOT / "data" / "attachments")


def import_max_bytes() -> int:
    """Largest ledger file accepted (`IMPORT_MAX_MB`, default 100 MB)."""
    return int(float(os.environ.get("IMPORT_MAX_MB") or 100) * 1024 * 1024)


def _number(name: str, default: float) -> float:
    """A positive number from the environment (a blank or unreadable value: the default)."""
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def import_max_unpacked_bytes() -> int:
    """Largest total uncompressed size of an .xlsx's parts (`IMPORT_MAX_UNPACKED_MB`,
    default 500 MB): checked on the zip's directory before anything is unpacked."""
    return int(_number("IMPORT_MAX_UNPACKED_MB", 500) * 1024 * 1024)


def import_max_ratio() -> float:
    """Largest compression ratio of one .xlsx part of more than 1 MB unpacked
    (`IMPORT_MAX_RATIO`, default 100; real sheets pack 5–30 times)."""
    return _number("IMPORT_MAX_RATIO", 100)


def import_max_rows() -> int:
    """Most rows read from a ledger (`IMPORT_MAX_ROWS`, default 200,000), counted while
    reading (the sheet's declared size is not trusted)."""
    return int(_number("IMPORT_MAX_ROWS", 200_000))


def import_max_columns() -> int:
    """Most columns of a ledger (`IMPORT_MAX_COLUMNS`, default 200)."""
    return int(_number("IMPORT_MAX_COLUMNS", 200))


def import_deadline_margin_days() -> int:
    """How far past today a deadline of a ledger (办理期限, 化解目标日期) may lie
    (`IMPORT_DEADLINE_MARGIN_DAYS`, default 1,100 days: three years); other dates may
    not lie after today."""
    return int(_number("IMPORT_DEADLINE_MARGIN_DAYS", 1100))
