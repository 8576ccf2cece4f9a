"""修改密码: every signed-in user changes their own password here."""

from pages import ensure_navigation, session

ensure_navigation()
session.change_password_form(forced=False)
