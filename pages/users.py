"""用户管理 user administration (管理员): list, add, disable / enable, reset passwords.
Every change goes through `dashboard.actions` and is audited."""

import pandas as pd
import streamlit as st

from dashboard import actions, auth
from dashboard.permissions import ROLE_LEVEL, ROLES
from pages import ensure_navigation, session, widgets

ensure_navigation()
actor = session.require("users")

st.title("用户管理")
st.caption("在此新建账号或重置密码时，系统生成一次性密码，用户首次登录须修改。停用的账号不能再登录，其历史记录保留。")
if "users_notice" in st.session_state:
    st.success(widgets.plain(st.session_state.pop("users_notice")))

with widgets.engine().connect() as conn:
    users = auth.list_users(conn)
    regions = pd.read_sql_query("SELECT code, name, level FROM regions ORDER BY code", conn)

table = pd.DataFrame({
    "用户名": [u["name"] for u in users],
    "显示名": [u["display_name"] or "" for u in users],
    "角色": [ROLES[u["role"]] for u in users],
    "区划": [u["region_name"] or "—" for u in users],
    "状态": ["已停用" if u["disabled"] else "待改密码" if u["must_change_password"] else "正常" for u in users],
    "锁定至": [f"{u['locked_until']:%Y-%m-%d %H:%M}" if u["locked_until"] else "" for u in users],
    "最近登录": [f"{u['last_signin_at']:%Y-%m-%d %H:%M}" if u["last_signin_at"] else "" for u in users],
})
st.dataframe(table, hide_index=True, key="user_table")
widgets.download_buttons(table, "用户清单", "用户清单", key="user_download", permission="users")

add_tab, change_tab = st.tabs(["新建用户", "停用、启用与重置密码"])
with add_tab:
    role = st.selectbox("角色", list(ROLES), format_func=ROLES.get, key="new_user_role")
    level = ROLE_LEVEL[role]
    choices = regions[regions["level"] == level] if level in ("county", "township") else regions.iloc[0:0]
    with st.form("new_user_form", clear_on_submit=True):
        left, right = st.columns(2)
        name = left.text_input("用户名（登录名，不含空格）", key="new_user_name", max_chars=auth.NAME_MAX)
        display = right.text_input("显示名（如 张三，临江县副县长）", key="new_user_display", max_chars=50)
        region = None
        if not choices.empty:
            names = dict(zip(choices["code"], choices["name"], strict=True))
            region = st.selectbox("所辖区划", list(names), format_func=lambda c: f"{names[c]}（{c}）",
                                  key="new_user_region")
        elif level == "city":
            st.caption("该角色可查看全市。")
        else:
            st.caption("管理员只管理用户和审计日志，不查看案件数据。")
        if st.form_submit_button("新建并生成一次性密码", type="primary", key="new_user_submit"):
            password = auth.generate_password()
            try:
                widgets.run_action(actions.add_user, name, role, region, password, must_change=True,
                                   display_name=display)
            except auth.AuthError as error:
                st.error(widgets.plain(error))
            else:
                st.session_state["users_notice"] = (
                    f"已新建用户 {name.strip()}（{ROLES[role]}）。一次性密码：{password}（只显示这一次，请当面或"
                    "通过安全渠道交给本人；首次登录须修改）。")
                st.rerun()

with change_tab:
    names = [u["name"] for u in users]
    if names:
        target = st.selectbox("用户", names, key="change_user")
        left, middle, right = st.columns(3)
        if left.button("停用", key="disable_user"):
            try:
                widgets.run_action(actions.set_user_disabled, target, True)
            except (auth.AuthError, actions.ActionError) as error:
                st.error(widgets.plain(error))
            else:
                st.session_state["users_notice"] = f"已停用 {target}。"
                st.rerun()
        if middle.button("启用", key="enable_user"):
            widgets.run_action(actions.set_user_disabled, target, False)
            st.session_state["users_notice"] = f"已启用 {target}。"
            st.rerun()
        if right.button("重置密码", key="reset_user"):
            password = auth.generate_password()
            widgets.run_action(actions.reset_password, target, password)
            st.session_state["users_notice"] = (f"已重置 {target} 的密码。一次性密码：{password}"
                                                "（只显示这一次；该用户下次登录须修改）。")
            st.rerun()
