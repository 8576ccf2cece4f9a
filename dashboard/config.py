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
