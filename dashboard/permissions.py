"""Roles and what each may do: the one permission table of the product.

Every page, CLI command and write asks `allowed(actor, permission)`; the menu shows
only what a role may use, and a page or command reached anyway refuses (exit 3 on the
command line) and leaves a `denied` audit record. What a user may see is the scope
(`dashboard.scope`) of their region; roles decide what they may do there.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.scope import Scope

ROLES = {
    "city": "市领导",
    "county": "县领导",
    "township": "乡镇",
    "supervision": "督查室",
    "bureau": "信访局",
    "admin": "管理员",
}
# Region level a role's user is bound to; the others see the whole city (admin: no case data).
ROLE_LEVEL = {"city": "city", "county": "county", "township": "township", "supervision": "city",
              "bureau": "city", "admin": None}

PERMISSION_NAMES = {
    "view": "查看案件数据",
    "export": "下载导出",
    "remind": "登记催办",
    "follow_up": "填报督查会跟进情况",
    "attach": "上传案件附件",
    "meeting": "新建督查会",
    "draw": "随机抽查",
    "outcome": "记录督查会结果",
    "import": "导入台账与区划",
    "settings": "修改时限与三色规则",
    "calendar": "导入节假日安排",
    "extend": "批准延期",
    "reveal": "查看完整个人信息",
    "users": "管理用户",
    "audit": "查看审计日志",
}

_READ = {"view", "export"}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "city": frozenset(_READ),
    "county": frozenset(_READ),
    "township": frozenset(_READ | {"remind", "follow_up", "attach"}),
    "supervision": frozenset(_READ | {"meeting", "draw", "outcome", "follow_up", "remind"}),
    "bureau": frozenset(_READ | {"import", "settings", "calendar", "extend", "reveal", "attach", "remind"}),
    "admin": frozenset({"users", "audit"}),
    # The command line without --user: the server's console reads the whole city and
    # changes nothing (whoever has the console has the database file anyway).
    "console": frozenset(_READ),
}


class Refused(PermissionError):
    """A request outside the caller's role or scope. The message is Chinese and says
    what is refused and what to do; it names no data of the refused region."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: a signed-in user (web), a named CLI user, or the console."""

    name: str | None  # None: the console (command line without a user)
    role: str  # a key of ROLES, or "console"
    scope: Scope | None  # None for the administrator (no case data)
    display_name: str = ""
    channel: str = "web"  # web / cli

    @property
    def label(self) -> str:
        """Name shown in records (draws, meetings, outcomes)."""
        if self.name is None:
            return "服务器控制台"
        return self.display_name or self.name

    @property
    def role_name(self) -> str:
        return ROLES.get(self.role, "服务器控制台（只读）")


def allowed(actor: Actor, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(actor.role, frozenset())


def refusal_message(actor: Actor, permission: str) -> str:
    what = PERMISSION_NAMES.get(permission, permission)
    if actor.name is None:
        return (f"{what}会修改数据，必须以具名用户执行：请加 --user 用户名，或设置环境变量 DASHBOARD_USER。"
                "该用户的角色须有此权限。")
    return f"无权限：{actor.role_name}角色不能{what}。如确需办理，请联系有此权限的同事或系统管理员。"


def scope_message(actor: Actor) -> str:
    where = actor.scope.name if actor.scope else "（无）"
    return f"无权限：所请求的数据不在您的查看范围（{where}）内，未显示任何数据。请核对链接或区划代码。"


# ------------------------------------------------------------------ the accountability loop (issue 15)
# New permissions only: who records 四定四包 and 2453 steps, 销号, reception days and
# instructions, referrals to the discipline commission, 溯源 and 问责, and 回访. The city
# and county leaders read these records (view) and record nothing.
PERMISSION_NAMES.update({
    "casework": "登记包案措施（四定四包）与 2453 步骤",
    "clearance": "审批积案销号与再次督办",
    "reception": "登记领导接访与五个必批批示",
    "referral": "纪委移送与对账销号",
    "accountability": "登记溯源调查与问责约谈",
    "revisit": "登记回访",
})
_ACCOUNTABILITY_GRANTS = {
    "township": {"casework", "revisit"},  # its own cases' 2453 steps and 回访
    "supervision": {"casework", "clearance", "reception", "referral", "accountability"},
    "bureau": {"casework", "clearance", "reception", "referral", "accountability", "revisit"},
}
for _role, _extra in _ACCOUNTABILITY_GRANTS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _extra
# Early warnings (一单三推) and the backlog clearance targets: the bureau raises and
# closes warnings and enters sensitive periods (so may the administrator); the
# recipients (city leaders, counties, townships, the bureau) acknowledge and act.
PERMISSION_NAMES.update({
    "warn": "发布和关闭预警",
    "respond": "签收和处置预警",
    "sensitive": "设定敏感时期",
})
ROLE_PERMISSIONS.update({
    "city": ROLE_PERMISSIONS["city"] | {"respond"},
    "county": ROLE_PERMISSIONS["county"] | {"respond"},
    "township": ROLE_PERMISSIONS["township"] | {"respond"},
    "bureau": ROLE_PERMISSIONS["bureau"] | {"respond", "warn", "sensitive"},
    "admin": ROLE_PERMISSIONS["admin"] | {"sensitive"},
})
