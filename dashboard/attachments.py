"""Case attachments: files stored beside the database, listed and downloadable."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.models import attachments

KINDS = {
    "photo": ("照片", (".jpg", ".jpeg", ".png", ".gif", ".bmp")),
    "audio": ("录音", (".mp3", ".m4a", ".wav", ".amr", ".aac")),
    "video": ("视频", (".mp4", ".mov", ".avi", ".mkv")),
    "document": ("文档", (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".txt", ".ofd", ".wps")),
}
EXTENSIONS = tuple(ext for _, exts in KINDS.values() for ext in exts)
MAX_BYTES = 50 * 1024 * 1024


class AttachmentError(ValueError):
    """A file that cannot be attached; the message is in Chinese."""


def kind_of(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    for kind, (_, extensions) in KINDS.items():
        if suffix in extensions:
            return kind
    raise AttachmentError(
        f"不支持的文件类型 {suffix or '（无扩展名）'}：{Path(filename).name}。可上传：{'、'.join(EXTENSIONS)}。")


def save(conn: Connection, case_id: int, filename: str, data: bytes, *, uploaded_by: str,
         now: dt.datetime | None = None) -> int:
    """Store a file and record it; the file is removed again if recording fails."""
    name = Path(filename).name.strip()
    kind = kind_of(name)
    if not data:
        raise AttachmentError(f"{name} 是空文件。")
    if len(data) > MAX_BYTES:
        raise AttachmentError(f"{name} 大小 {len(data) / 1048576:.1f} MB，超过 {MAX_BYTES // 1048576} MB 上限。")
    folder = config.attachments_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    temporary = folder / (stored + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, folder / stored)  # never a half-written file under its name
    try:
        return conn.execute(attachments.insert().values(
            case_id=case_id, filename=name, kind=kind, size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(), stored_name=stored, uploaded_by=uploaded_by.strip() or "—",
            uploaded_at=(now or dt.datetime.now()).replace(microsecond=0),
        )).inserted_primary_key[0]
    except Exception:
        (folder / stored).unlink(missing_ok=True)
        raise


def listing(conn: Connection, case_id: int) -> pd.DataFrame:
    rows = conn.execute(
        sa.select(attachments).where(attachments.c.case_id == case_id).order_by(attachments.c.id)
    ).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in attachments.columns])


def _path(stored_name: str) -> Path:
    return config.attachments_dir() / Path(stored_name).name  # never outside the folder


def exists(stored_name: str) -> bool:
    return _path(stored_name).is_file()


def read(stored_name: str) -> bytes | None:
    path = _path(stored_name)
    return path.read_bytes() if path.is_file() else None


def loader(stored_name: str, filename: str) -> Callable[[], bytes]:
    """A function reading the file when it is called: pages hand it to a download button,
    so the bytes are read on the click, not on every run of the page."""

    def load() -> bytes:
        data = read(stored_name)
        if data is None:
            raise AttachmentError(f"附件 {filename} 的文件已不在附件目录中，请联系管理员核查。")
        return data

    return load
