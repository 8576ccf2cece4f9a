"""Users, passwords and sign-in.

Passwords are stored only as argon2id hashes (argon2-cffi: salted, memory-hard).
Five failed sign-ins in a row lock an account for 15 minutes; a password set by
someone else (the first administrator's, a generated or reset one) must be changed at
first sign-in. A user's role decides what they may do (`dashboard.permissions`) and
their region what they may see (`dashboard.scope`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine

from dashboard import audit
from dashboard.models import regions, users
from dashboard.permissions import ROLE_LEVEL, ROLES, Actor
from dashboard.scope import Scope, city_scope, scope_for

MAX_FAILED_SIGNINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
WRONG_CREDENTIALS = "用户名或密码不正确，请重新输入。连续输错 5 次，账号将锁定 15 分钟。"
NAME_MAX = 50
# Letters and digits that cannot be mistaken for each other when read aloud or typed.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

_hasher = PasswordHasher()
# Each argon2 hash or check takes 64 MiB (the library's memory cost) and releases the
# GIL: thirty people signing in at once to a meeting would need 2 GB in one app process.
# At most this many run at once per process (the others wait their turn, a fraction of
# a second each): 64 MiB × PASSWORD_CHECKS_AT_ONCE (README 规模与部署).
PASSWORD_CHECKS_AT_ONCE = 2
_password_checks = threading.BoundedSemaphore(PASSWORD_CHECKS_AT_ONCE)


class AuthError(ValueError):
    """Bad input or a refused sign-in; the message is Chinese and says what to do."""


def idle_timeout() -> dt.timedelta:
    """Idle time after which a web session ends (`SESSION_IDLE_MINUTES`, default 30)."""
    try:
        minutes = float(os.environ.get("SESSION_IDLE_MINUTES") or 30)
    except ValueError:
        minutes = 30
    return dt.timedelta(minutes=max(minutes, 0.1))


def hash_password(password: str) -> str:
    with _password_checks:
        return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _password_checks:
            return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A hash to verify against when the name is unknown, so that a wrong name takes as long
# as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def generate_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(14))


def check_password(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"密码太短：至少 {MIN_PASSWORD_LENGTH} 位，请重新设置。")
    if password.strip().lower() == name.strip().lower():
        raise AuthError("密码不能与用户名相同，请重新设置。")
    if len(password) > 200:
        raise AuthError("密码太长：最多 200 位。")


@dataclass(frozen=True)
class UserRow:
    name: str
    display_name: str | None
    role: str
    region_code: str | None
    must_change_password: bool
    disabled: bool
    locked_until: dt.datetime | None


def get_user(conn: Connection, name: str) -> UserRow | None:
    row = conn.execute(
        sa.select(users.c.name, users.c.display_name, users.c.role, users.c.region_code,
                  users.c.must_change_password, users.c.disabled, users.c.locked_until)
        .where(users.c.name == name)
    ).first()
    return UserRow(*row) if row else None


def scope_of(conn: Connection, role: str, region_code: str | None) -> Scope | None:
    """The scope a role and region give: city-wide roles see the whole city; the
    administrator sees no case data (None)."""
    level = ROLE_LEVEL[role]
    if level is None:
        return None
    if level == "city":
        return scope_for(conn, region_code) if region_code else city_scope(conn)
    return scope_for(conn, region_code)


def actor_for(conn: Connection, user: UserRow, channel: str) -> Actor:
    return Actor(name=user.name, role=user.role, scope=scope_of(conn, user.role, user.region_code),
                 display_name=user.display_name or user.name, channel=channel)


def cli_actor(conn: Connection, name: str | None) -> Actor:
    """The actor of a command: the named user, or the read-only console without one."""
    if not name:
        return Actor(name=None, role="console", scope=city_scope(conn), channel="cli")
    user = get_user(conn, name)
    if user is None:
        raise AuthError(f"用户 {name} 不存在。请核对 --user 或 DASHBOARD_USER，或由管理员用 `user add` 建立。")
    if user.disabled:
        raise AuthError(f"用户 {name} 已停用，不能执行命令。请联系系统管理员。")
    return actor_for(conn, user, "cli")


def _validate_region(conn: Connection, role: str, region_code: str | None) -> str | None:
    level = ROLE_LEVEL[role]
    if level is None:
        if region_code:
            raise AuthError("管理员不看案件数据，不需要区划，请去掉 --region。")
        return None
    if level == "city" and not region_code:
        return city_scope(conn).region_code
    if not region_code:
        label = "县区（6 位）" if level == "county" else "乡镇（9 位）"
        raise AuthError(f"{ROLES[role]}角色必须指定所辖{label}区划代码：--region 代码。")
    row = conn.execute(sa.select(regions.c.level, regions.c.name).where(regions.c.code == region_code)).first()
    if row is None:
        raise AuthError(f"区划代码 {region_code} 不存在，请检查代码。")
    if row.level != level:
        wanted = {"city": "市", "county": "县区", "township": "乡镇（街道）"}[level]
        raise AuthError(f"{ROLES[role]}角色的区划应为{wanted}级，{region_code}（{row.name}）不是。")
    return region_code


def create_user(conn: Connection, name: str, role: str, region_code: str | None, password: str, *,
                must_change: bool, display_name: str | None = None) -> None:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() for c in name):
        raise AuthError(f"用户名 {name!r} 不可用：须为 1–{NAME_MAX} 个字符，不含空格。")
    if role not in ROLES:
        raise AuthError(f"角色 {role!r} 不存在，可选：" + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))
    if get_user(conn, name) is not None:
        raise AuthError(f"用户 {name} 已存在，未做修改。")
    region_code = _validate_region(conn, role, region_code)
    check_password(name, password)
    conn.execute(users.insert().values(
        name=name, display_name=(display_name or "").strip() or None, role=role, region_code=region_code,
        password_hash=hash_password(password), must_change_password=must_change, disabled=False,
        failed_attempts=0, created_at=audit.now(),
    ))


def set_password(conn: Connection, name: str, password: str, *, must_change: bool) -> None:
    if get_user(conn, name) is None:
        raise AuthError(f"用户 {name} 不存在。")
    check_password(name, password)
    conn.execute(users.update().where(users.c.name == name).values(
        password_hash=hash_password(password), must_change_password=must_change, failed_attempts=0,
        locked_until=None))


def set_disabled(conn: Connection, name: str, disabled: bool) -> None:
    if get_user(conn, name) is None:
        raise AuthError(f"用户 {name} 不存在。")
    conn.execute(users.update().where(users.c.name == name).values(disabled=disabled))


def list_users(conn: Connection) -> list[dict]:
    rows = conn.execute(
        sa.select(users.c.name, users.c.display_name, users.c.role, users.c.region_code,
                  regions.c.name.label("region_name"), users.c.disabled, users.c.must_change_password,
                  users.c.locked_until, users.c.created_at, users.c.last_signin_at)
        .select_from(users.outerjoin(regions, regions.c.code == users.c.region_code))
        .order_by(users.c.name)
    ).mappings().all()
    return [dict(r) for r in rows]


def sign_in(engine: Engine, name: str, password: str, *, now: dt.datetime | None = None) -> Actor:
    """Check a password and return the signed-in actor; every attempt is audited and a
    failure is counted (and its record kept) before the refusal is raised. A wrong name
    and a wrong password get the same message, so names cannot be probed."""
    now = now or audit.now()
    name = (name or "").strip()[:NAME_MAX]
    refusal = None
    with engine.begin() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first() if name else None
        if row is None:
            _verify(_DUMMY_HASH, password or "")
            refusal, detail = WRONG_CREDENTIALS, "用户名不存在"
        elif row["disabled"]:
            refusal, detail = "该账号已停用，请联系系统管理员。", "账号已停用"
        elif row["locked_until"] and row["locked_until"] > now:
            minutes = max(1, int((row["locked_until"] - now).total_seconds() // 60) + 1)
            refusal = f"连续输错密码次数过多，账号已锁定，请约 {minutes} 分钟后再试，或联系管理员重置密码。"
            detail = "账号锁定中"
        elif not _verify(row["password_hash"], password or ""):
            failed = (row["failed_attempts"] or 0) + 1
            locked = now + LOCKOUT if failed >= MAX_FAILED_SIGNINS else None
            conn.execute(users.update().where(users.c.id == row["id"]).values(
                failed_attempts=0 if locked else failed, locked_until=locked))
            refusal = ("连续 5 次输错密码，账号已锁定 15 分钟。请稍后再试，或联系管理员重置密码。" if locked
                       else WRONG_CREDENTIALS)
            detail = "密码错误" + ("，账号锁定 15 分钟" if locked else f"（连续第 {failed} 次）")
        if refusal:
            audit.append(conn, None, "signin_failed", user_name=name or None, outcome="denied", detail=detail)
        else:
            conn.execute(users.update().where(users.c.id == row["id"]).values(
                failed_attempts=0, locked_until=None, last_signin_at=now))
            actor = actor_for(conn, get_user(conn, name), "web")
            audit.append(conn, actor, "signin")
    if refusal:  # raised after the commit: the count and the record stay
        raise AuthError(refusal)
    return actor


def change_own_password(engine: Engine, actor: Actor, current: str, new: str, repeated: str) -> None:
    """A signed-in user changes their password (also the forced first change)."""
    if new != repeated:
        raise AuthError("两次输入的新密码不一致，请重新输入。")
    if new == current:
        raise AuthError("新密码不能与当前密码相同。")
    with engine.begin() as conn:
        stored = conn.execute(sa.select(users.c.password_hash).where(users.c.name == actor.name)).scalar()
        if stored is None or not _verify(stored, current):
            raise AuthError("当前密码不正确，请重新输入。")
        set_password(conn, actor.name, new, must_change=False)
        audit.append(conn, actor, "password_change", target=actor.name)
