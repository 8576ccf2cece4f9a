"""Signing in and out, the idle timeout, the per-role menu and the page guard.

The signed-in actor (`dashboard.permissions.Actor`) lives in the session; its scope is
the only scope pages use (never a widget or a URL parameter). Every page calls
`require(permission)` first: a page a role may not use is not in its menu and, reached
by a link, refuses with a message and an audit record.
"""

from __future__ import annotations

import streamlit as st

from dashboard import audit, auth
from dashboard.permissions import Actor, allowed, refusal_message
from pages.markup import plain

ACTOR_KEY = "signed_in_actor"
LAST_SEEN_KEY = "signed_in_last_seen"
NOTICE_KEY = "signin_notice"


def _engine():
    from pages import widgets

    return widgets.engine()


# ---------------------------------------------------------------- single sign-on (off by default)


def sso_configured() -> bool:
    """Streamlit's own OIDC sign-in (st.login), when .streamlit/secrets.toml has [auth]."""
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file
        return False


def _sso_actor() -> Actor | None:
    """The user an OIDC sign-in maps to (by name), or None."""
    if not sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    name = st.user.get("preferred_username") or st.user.get("email") or st.user.get("name")
    engine = _engine()
    with engine.connect() as conn:
        user = auth.get_user(conn, str(name)) if name else None
        actor = auth.actor_for(conn, user, "web") if user and not user.disabled else None
    if actor is None:
        audit.record(engine, None, "signin_failed", user_name=str(name)[:50] if name else None, outcome="denied",
                     detail="统一身份认证：本系统无此用户或已停用")
        st.session_state[NOTICE_KEY] = "您的统一身份认证账号未在本系统登记或已停用，请联系系统管理员开通。"
        st.logout()
        return None
    audit.record(engine, actor, "signin", detail="统一身份认证")
    return actor


# ---------------------------------------------------------------- the session's actor


def current_actor() -> Actor | None:
    """The signed-in actor, after the idle timeout check (an expired session is signed
    out and audited)."""
    actor: Actor | None = st.session_state.get(ACTOR_KEY)
    now = audit.now()
    if actor is None:
        actor = _sso_actor()
        if actor is None:
            return None
        st.session_state[ACTOR_KEY] = actor
    last_seen = st.session_state.get(LAST_SEEN_KEY)
    if last_seen is not None and now - last_seen > auth.idle_timeout():
        audit.record(_engine(), actor, "session_expired")
        sign_out(notice=f"超过 {auth.idle_timeout().total_seconds() / 60:g} 分钟未操作，已自动退出，请重新登录。")
        return None
    st.session_state[LAST_SEEN_KEY] = now
    return actor


def actor() -> Actor:
    """The signed-in actor of a page (the entry point has made sure there is one)."""
    signed_in = st.session_state.get(ACTOR_KEY)
    if signed_in is None:
        st.stop()
    return signed_in


def sign_out(notice: str | None = None) -> None:
    keep = {NOTICE_KEY: notice} if notice else {}
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state.update(keep)
    if sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _sign_out_clicked() -> None:
    audit.record(_engine(), st.session_state.get(ACTOR_KEY), "signout")
    sign_out(notice="已退出登录。")


# ---------------------------------------------------------------- forms


def sign_in_form() -> None:
    """The sign-in page: nothing else is shown before sign-in."""
    st.title("信访督查看板")
    st.caption("请使用本系统账号登录。信访信息依法保密，所有查看、下载和操作均留痕。")
    if NOTICE_KEY in st.session_state:
        st.info(plain(st.session_state.pop(NOTICE_KEY)))
    with st.form("signin_form"):
        name = st.text_input("用户名", key="signin_user", max_chars=auth.NAME_MAX)
        password = st.text_input("密码", type="password", key="signin_password", max_chars=200)
        submitted = st.form_submit_button("登录", type="primary", key="signin_submit")
    if submitted:
        try:
            signed_in = auth.sign_in(_engine(), name, password)
        except auth.AuthError as error:
            st.error(plain(error))
        else:
            st.session_state[ACTOR_KEY] = signed_in
            st.session_state[LAST_SEEN_KEY] = audit.now()
            st.rerun()
    if sso_configured():
        st.divider()
        if st.button("使用统一身份认证登录", key="signin_sso"):
            st.login()
    st.caption("忘记密码或账号被锁定，请联系系统管理员重置。")


def change_password_form(*, forced: bool) -> None:
    signed_in = actor()
    st.title("修改密码")
    if forced:
        st.warning("这是管理员为您设置的初始密码，请先修改为只有您知道的新密码，再使用系统。")
    with st.form("password_form", clear_on_submit=True):
        current = st.text_input("当前密码", type="password", key="password_current")
        new = st.text_input(f"新密码（至少 {auth.MIN_PASSWORD_LENGTH} 位）", type="password", key="password_new")
        repeated = st.text_input("再次输入新密码", type="password", key="password_repeat")
        submitted = st.form_submit_button("修改密码", type="primary", key="password_submit")
    if submitted:
        try:
            auth.change_own_password(_engine(), signed_in, current, new, repeated)
        except auth.AuthError as error:
            st.error(plain(error))
        else:
            st.session_state["password_changed"] = True
            st.rerun()
    if st.session_state.pop("password_changed", False):
        st.success("密码已修改。")


def must_change_password(signed_in: Actor) -> bool:
    """Whether the user must change their password before anything else. A user
    disabled (or removed) since signing in is signed out at once."""
    with _engine().connect() as conn:
        user = auth.get_user(conn, signed_in.name)
    if user is None or user.disabled:
        sign_out(notice="该账号已停用，请联系系统管理员。")
        st.rerun()
    return user.must_change_password


# ---------------------------------------------------------------- menu and guard


def sidebar(signed_in: Actor, menu: dict[str, list[tuple[st.Page, str | None]]]) -> None:
    """The role's menu (pages it may use only) and the account box."""
    with st.sidebar:
        for section, entries in menu.items():
            shown = [page for page, permission in entries if permission is None or allowed(signed_in, permission)]
            if shown:
                st.caption(section)
                for page in shown:
                    st.page_link(page)
        st.divider()
        region = signed_in.scope.name if signed_in.scope else "—"
        st.markdown(f"**{plain(signed_in.label)}**  \n{signed_in.role_name} · {plain(region)}")
        st.button("退出登录", key="signout", on_click=_sign_out_clicked)


def require(permission: str) -> Actor:
    """The page guard: the signed-in actor if their role has `permission`; otherwise a
    refusal (audited) and the page stops before any data is read."""
    signed_in = actor()
    if not allowed(signed_in, permission):
        audit.record(_engine(), signed_in, "view_page", target=permission, outcome="denied",
                     detail="角色无此权限")
        st.error(refusal_message(signed_in, permission))
        st.stop()
    return signed_in


def refuse(message: str, *, action: str = "view_page", target: str | None = None) -> None:
    """Refuse a request outside the actor's scope (a tampered link): audited, no data."""
    audit.record(_engine(), actor(), action, target=(target or "")[:200] or None, outcome="denied",
                 detail="不在查看范围内")
    st.error(message)
    st.stop()
