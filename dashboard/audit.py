"""The audit trail: append-only, hash-chained records of who saw, revealed, exported
or changed what, when, in which scope, with what outcome.

Each record's digest is SHA-256 over the previous record's digest and the record's
fields (canonical JSON), so editing or deleting a record breaks the chain at that
point (`verify`). As with the draw records, a chain alone cannot show that its newest
records were removed: `verify` reports the length and the head digest, to be compared
with a copy kept elsewhere. The app offers no way to change or delete a record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dashboard.models import audit_log
from dashboard.permissions import Actor

AUDIT_LOCK_KEY = 20_261_202  # PostgreSQL advisory lock of the audit chain

ACTIONS = {
    "signin": "登录", "signin_failed": "登录失败", "signout": "退出", "session_expired": "超时退出",
    "password_change": "修改密码", "view_case": "查看案件", "view_page": "访问页面", "reveal": "查看个人信息",
    "export": "下载导出", "import": "导入台账", "import_regions": "导入区划", "draw": "随机抽查",
    "meeting": "新建督查会", "outcome": "记录督查会结果", "follow_up": "填报跟进情况", "remind": "登记催办",
    "extend": "批准延期", "rule_assign": "设定时限规则", "rule_edit": "修改预设规则", "color_rule": "修改三色规则",
    "calendar": "导入节假日", "attach": "上传附件", "user_add": "新建用户", "user_disable": "停用用户",
    "user_enable": "启用用户", "user_reset": "重置密码", "init": "建库", "refresh": "重建汇总", "read": "命令行查询",
}
ACTIONS.update({"warn": "发布预警", "warn_ack": "签收预警", "warn_act": "处置预警", "warn_close": "关闭预警",
                "sensitive": "设定敏感时期", "backlog_target": "设定积案清零目标"})
OUTCOMES = {"ok": "成功", "denied": "拒绝", "failed": "失败"}


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _content(row) -> dict:
    return {"at": str(row["at"]), "user": row["user_name"], "role": row["role"], "action": row["action"],
            "target": row["target"], "scope": row["scope_code"], "outcome": row["outcome"],
            "detail": row["detail"], "channel": row["channel"]}


def _digest(previous: str | None, content: dict) -> str:
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(((previous or "") + text).encode()).hexdigest()


def _lock(conn: Connection) -> None:
    """Serialise appends until the transaction ends (both databases)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    else:  # SQLite: take the write lock now, before reading the head
        conn.execute(audit_log.update().where(sa.false()).values(digest=audit_log.c.digest))


def append(conn: Connection, actor: Actor | None, action: str, *, target: str | None = None,
           outcome: str = "ok", detail: str | None = None, user_name: str | None = None) -> str:
    """Append one record inside the caller's transaction (so a write and its record
    commit together). `user_name` names the subject when there is no actor (a failed
    sign-in). Returns the new digest."""
    _lock(conn)
    previous = conn.execute(sa.select(audit_log.c.digest).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    row = {
        "at": now(), "user_name": actor.name if actor else user_name, "role": actor.role if actor else None,
        "action": action, "target": (target or None) and str(target)[:200],
        "scope_code": actor.scope.region_code if actor and actor.scope else None,
        "outcome": outcome, "detail": detail, "channel": actor.channel if actor else "web",
    }
    row["digest"] = _digest(previous, _content(row))
    conn.execute(audit_log.insert().values(**row))
    return row["digest"]


def record(engine: Engine, actor: Actor | None, action: str, **fields) -> str:
    """Append one record in a transaction of its own (reads, refusals, sign-ins)."""
    with engine.begin() as conn:
        return append(conn, actor, action, **fields)


@dataclass
class ChainCheck:
    ok: bool
    length: int
    head_digest: str | None
    first_broken_id: int | None
    detail: str


def verify(conn: Connection) -> ChainCheck:
    """Recompute every digest in order; the first record whose digest does not match
    (edited, or a record before it removed or edited) is reported."""
    previous = None
    length = 0
    result = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings()
    for row in result:
        length += 1
        if _digest(previous, _content(row)) != row["digest"]:
            return ChainCheck(False, length, None, row["id"],
                              f"审计记录 #{row['id']} 与存证摘要不符：该记录或其前一条记录被改动或删除。")
        previous = row["digest"]
    return ChainCheck(True, length, previous, None,
                      f"审计链完整：共 {length} 条记录，最新摘要 {previous or '—'}。"
                      "请将条数和最新摘要与另存的副本核对：摘要链本身无法发现最新记录被删除。")


COLUMNS = ["id", "at", "user", "role", "action", "target", "scope", "outcome", "detail", "channel"]


def listing(conn: Connection, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
            user: str | None = None, actions: tuple[str, ...] = (), outcome: str | None = None,
            limit: int | None = None) -> pd.DataFrame:
    """Audit records, newest first, filtered."""
    stmt = sa.select(
        audit_log.c.id, audit_log.c.at, audit_log.c.user_name.label("user"), audit_log.c.role,
        audit_log.c.action, audit_log.c.target, audit_log.c.scope_code.label("scope"), audit_log.c.outcome,
        audit_log.c.detail, audit_log.c.channel,
    ).order_by(audit_log.c.id.desc())
    if date_from:
        stmt = stmt.where(audit_log.c.at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to:
        stmt = stmt.where(audit_log.c.at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    if user:
        stmt = stmt.where(audit_log.c.user_name == user)
    if actions:
        stmt = stmt.where(audit_log.c.action.in_(actions))
    if outcome:
        stmt = stmt.where(audit_log.c.outcome == outcome)
    if limit:
        stmt = stmt.limit(limit)
    rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS, dtype=object)
