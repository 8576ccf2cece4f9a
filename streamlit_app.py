"""信访督查看板 — entry point (`streamlit run streamlit_app.py`).

Nothing is shown before sign-in. Every page is registered (so that a link keeps
working through the sign-in and refuses clearly when the role may not use it), and
the sidebar menu lists only the pages of the signed-in role.
"""

import logging
import os

import streamlit as st

from dashboard.permissions import allowed
from pages import charts, session, widgets

st.set_page_config(page_title="信访督查看板", layout="wide")
widgets.page_style()
charts.configure_altair()

# (file, title, url_path, permission the page requires; None: every signed-in user).
# Every url_path equals its file's name: until the first `st.navigation` call of a
# server process Streamlit treats `pages/` as a legacy multipage folder and resolves
# links by file name (see pages/__init__.py), so a deep link must work both ways.
MENU = {
    "看板": [
        ("pages/overview.py", "总览", "overview", "view"),
        ("pages/heatmap.py", "积案热力图", "heatmap", "view"),
        ("pages/supervision.py", "三色督办", "supervision", "view"),
        ("pages/drill.py", "逐级下钻", "drill", "view"),
        ("pages/rankings.py", "排名", "rankings", "view"),
        ("pages/case.py", "案件详情", "case", "view"),
    ],
    "督查": [
        ("pages/spot_check.py", "随机抽查", "spot_check", "draw"),
        ("pages/reminders.py", "催办", "reminders", "view"),
        ("pages/leaders.py", "领导包案", "leaders", "view"),
        ("pages/receptions.py", "领导接访", "receptions", "view"),
        ("pages/referrals.py", "纪委移送", "referrals", "view"),
        ("pages/warnings.py", "预警预测", "warnings", "view"),
    ],
    "管理": [
        ("pages/data_import.py", "数据导入", "data_import", "import"),
        ("pages/settings.py", "设置", "settings", "settings"),
        ("pages/users.py", "用户管理", "users", "users"),
        ("pages/audit_log.py", "审计日志", "audit_log", "audit"),
    ],
    "账号": [
        ("pages/account.py", "修改密码", "account", None),
    ],
}

actor = st.session_state.get(session.ACTOR_KEY)
# The home page ("/"): the overview, or for the administrator (no case data) the user
# list. It is a page of its own (hidden from the menu), so that every menu page keeps
# its address (/overview, /users) and "/" follows the role once the user has signed in.
admin = actor is not None and not allowed(actor, "view")
home = st.Page("pages/users.py" if admin else "pages/overview.py", title="用户管理" if admin else "总览",
               url_path="home", default=True, visibility="hidden")
menu = {
    section: [(st.Page(file, title=title, url_path=path), permission)
              for file, title, path, permission in entries]
    for section, entries in MENU.items()
}
navigation = st.navigation([home, *(page for entries in menu.values() for page, _ in entries)], position="hidden")
# After the navigation (which ends Streamlit's file-name menu of pages/): the first run
# creates the database with a Chinese progress bar.
widgets.ensure_ready()

widgets.unknown_page_notice({"home", *(path for entries in MENU.values() for _, _, path, _ in entries)})
actor = session.current_actor()
if actor is None:
    session.sign_in_form()
    st.stop()
if session.must_change_password(actor):
    session.change_password_form(forced=True)
    st.stop()
session.sidebar(actor, menu)
if allowed(actor, "view"):
    widgets.sidebar_filters()
    widgets.holiday_banner()  # on every page, from 1 November while next year's schedule is missing
try:
    navigation.run()
except Exception:
    # The user sees a Chinese message and no server path or data; the details go to the
    # server's log. DASHBOARD_SHOW_ERRORS=1 (development, tests) lets them through.
    if os.environ.get("DASHBOARD_SHOW_ERRORS") == "1":
        raise
    logging.getLogger("dashboard").exception("页面 %s 出错（用户 %s）", navigation.url_path, actor.name)
    st.error("页面出错，已记录在服务器日志。请刷新页面重试；如仍出错，请联系系统管理员。")
