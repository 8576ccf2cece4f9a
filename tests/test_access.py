"""Who sees what: region scope in every query, role × page and role × command.

The rules (README, "登录、角色与范围"): a county user sees only its county, a township
user only its township; each role uses only the pages and commands of its row in the
permission table; a refusal names no data and is audited. The functions of `queries/`
are enumerated, so a new query is covered as soon as it exists.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

import queries
from dashboard import db, draws, meetings
from dashboard.models import audit_log, cases, follow_up_reports, leaders, regions, units
from dashboard.permissions import ROLE_PERMISSIONS
from dashboard.scope import scope_for
from entrypoints.cli import main
from queries.filters import Filters
from queries.spot_check import CandidateOptions
from tests import fixture_city
from tests.accountability_fixture import add_records as add_accountability_records
from tests.conftest import drop_database, throwaway_database
from tests.fixture_city import A1, A2, B1, COUNTY_A, COUNTY_B, TODAY
from tests.signin import as_user

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")

# ------------------------------------------------------------------ every query, every scope

# Public functions of queries/ that take a connection but no scope, and why that is safe.
UNSCOPED = {
    "queries.cases.fetch_case_list": "runs a statement its caller built with the scope condition",
    "queries.cases.fetch_colored_list": "runs conditions its caller built with the scope condition",
    "queries.reminders.is_rest_day": "the working-day calendar: no case data",
}


def _query_functions():
    found = []
    for module_info in pkgutil.iter_modules(queries.__path__):
        module = importlib.import_module(f"queries.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = list(inspect.signature(function).parameters)
            if params and params[0] == "conn":
                found.append((f"{module.__name__}.{name}", function, inspect.signature(function)))
    return found


QUERY_FUNCTIONS = _query_functions()


def test_every_query_takes_the_scope_second():
    unscoped = [name for name, _, signature in QUERY_FUNCTIONS
                if list(signature.parameters)[1:2] != ["scope"] and name not in UNSCOPED]
    assert not unscoped, f"queries without a scope parameter (add it, or explain in UNSCOPED): {unscoped}"
    assert len(QUERY_FUNCTIONS) > 25  # the enumeration finds the modules


def _make_database(kind: str, tmp_path_factory):
    return throwaway_database(kind, tmp_path_factory, "access")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def full_city(request, tmp_path_factory):
    """The fixture city with a city-wide draw of every unresolved backlog case, a
    meeting, an outcome and a follow-up report on a case of each county."""
    url, drop = _make_database(request.param, tmp_path_factory)
    engine = db.make_engine(url)
    fixture_city.build(engine)
    add_accountability_records(engine)  # receptions, referrals, 回访 … of both counties
    with engine.begin() as conn:
        city = scope_for(conn)
        pool = conn.execute(sa.select(cases.c.id, cases.c.case_no, cases.c.county_code)
                            .where(cases.c.is_backlog.is_(True))).all()
        candidates = [draws.Candidate(r.id, r.case_no, r.county_code) for r in pool]
        secret = draws.new_seed()
        meeting_id, _ = meetings.create_meeting(conn, title="全市抽查", scheduled_at=dt.datetime(2026, 6, 30, 14),
                                                scope_code=city.region_code, created_by="supervisor", secret=secret)
        draw_id, _, drawn = draws.record_draw(conn, candidates, len(candidates), created_by="supervisor",
                                              scope_code=city.region_code, meeting_id=meeting_id, secret=secret)
        for candidate in drawn:
            outcome_id = meetings.record_outcome(
                conn, draw_id=draw_id, case_no=candidate.case_no, leader_report="已约谈", comment=None,
                rating="needs_work", follow_up_due=dt.date(2026, 7, 30), recorded_by="supervisor")
            conn.execute(follow_up_reports.insert().values(
                outcome_id=outcome_id, case_id=candidate.case_id, progress=f"{candidate.case_no} 进展",
                reported_by="town", reported_at=dt.datetime(2026, 6, 30, 9)))
    yield engine, draw_id
    engine.dispose()
    drop_database(drop)


def _markers(conn, *, own: str, level: str) -> set[str]:
    """Every identifier of data outside the region `own` (a county or a township),
    worked out with plain SQL: case numbers, region codes and names, unit names."""
    column = cases.c.county_code if level == "county" else cases.c.township_code
    outside_cases = conn.execute(sa.select(cases.c.case_no).where(sa.or_(column != own, column.is_(None)))).scalars()
    if level == "county":
        outside_regions = conn.execute(sa.select(regions.c.code, regions.c.name).where(
            regions.c.level != "city", regions.c.code != own,
            sa.or_(regions.c.parent_code != own, regions.c.parent_code.is_(None)))).all()
    else:  # other townships, and other counties (the own county's name may label own rows)
        parent = conn.execute(sa.select(regions.c.parent_code).where(regions.c.code == own)).scalar()
        outside_regions = conn.execute(sa.select(regions.c.code, regions.c.name).where(
            regions.c.level != "city", regions.c.code.not_in([own, parent]))).all()
    outside_codes = {code for code, _ in outside_regions}
    unit_names = conn.execute(sa.select(units.c.name).where(units.c.region_code.in_(outside_codes))).scalars()
    leader_names = conn.execute(sa.select(leaders.c.name).where(leaders.c.region_code.in_(outside_codes))).scalars()
    return ({*outside_cases} | outside_codes | {name for _, name in outside_regions} | set(unit_names)
            | set(leader_names))


def _cells(value) -> list[str]:
    """Every text token in a query's result (frames, dicts, lists), split at list separators."""
    if isinstance(value, pd.DataFrame):
        items = [v for column in value.columns for v in value[column].tolist()]
    elif isinstance(value, dict):
        items = [v for pair in value.items() for v in pair]
    elif isinstance(value, (list, tuple, set)):
        items = list(value)
    else:
        items = [value]
    tokens = []
    for item in items:
        if isinstance(item, (pd.DataFrame, dict, list, tuple)):
            tokens += _cells(item)
        elif isinstance(item, str):
            tokens += [t for t in re.split(r"[、，,\s/（）()]+", item) if t]
        elif item is not None and not isinstance(item, float):
            tokens.append(str(item))
    return tokens


def _call(function, signature, conn, scope, *, other_case: str, other_township: str, draw_id: int):
    other_id = conn.execute(sa.select(cases.c.id).where(cases.c.case_no == other_case)).scalar_one()
    leader_of_other = conn.execute(sa.select(cases.c.leader_id).where(cases.c.case_no == other_case)).scalar()
    values = {
        "conn": conn, "scope": scope, "filters": Filters(date_from=dt.date(2024, 1, 1), date_to=TODAY),
        "as_of": TODAY, "on": TODAY, "case_no": other_case, "case_id": other_id, "township_code": other_township,
        "draw_id": draw_id, "level": "township", "metric": "backlog_resolution_rate", "column": "domain",
        "leader_id": leader_of_other or 2, "boundaries": True, "options": CandidateOptions(), "weight_by": None,
        "last": 5, "meeting_id": None, "replaces_draw_id": None,
    }
    args, kwargs = [], {}
    for name, param in signature.parameters.items():
        if param.kind is param.VAR_POSITIONAL:
            continue
        assert name in values or param.default is not param.empty, (
            f"{function.__name__}: add a test value for parameter {name!r} in tests/test_access.py")
        if name not in values:
            continue
        if param.kind is param.KEYWORD_ONLY:
            kwargs[name] = values[name]
        else:
            args.append(values[name])
    return function(*args, **kwargs)


SCOPED = [(name, function, signature) for name, function, signature in QUERY_FUNCTIONS
          if list(signature.parameters)[1:2] == ["scope"]]


@pytest.mark.parametrize(("user_region", "level", "other_case", "other_township"), [
    (COUNTY_A, "county", "P02", B1),  # P02 lies in 乙县
    (A1, "township", "B02", A2),  # B02 lies in 西门街道, the other township of 甲区
], ids=["county", "township"])
def test_no_query_returns_rows_of_another_region(full_city, user_region, level, other_case, other_township):
    engine, draw_id = full_city
    seen_own = 0
    with engine.connect() as conn:
        scope = scope_for(conn, user_region)
        foreign = _markers(conn, own=user_region, level=level)
        assert other_case in foreign and other_township in foreign
        for name, function, signature in SCOPED:
            result = _call(function, signature, conn, scope, other_case=other_case,
                           other_township=other_township, draw_id=draw_id)
            if isinstance(result, sa.sql.ClauseElement):
                continue
            tokens = _cells(result)
            leaked = sorted(foreign.intersection(tokens))
            assert not leaked, f"{name} returned data outside {user_region}: {leaked}"
            seen_own += user_region in tokens or any(t in ("C01", "C03", "B01") for t in tokens)
    assert seen_own >= 5  # the queries do return the user's own data


# ------------------------------------------------------------------ role × page

PAGES = {  # page: its menu title and the permission it needs (streamlit_app.MENU)
    "pages/overview.py": ("总览", "view"), "pages/heatmap.py": ("积案热力图", "view"),
    "pages/supervision.py": ("三色督办", "view"), "pages/drill.py": ("逐级下钻", "view"),
    "pages/rankings.py": ("排名", "view"), "pages/case.py": ("案件详情", "view"),
    "pages/spot_check.py": ("随机抽查", "draw"), "pages/reminders.py": ("催办", "view"),
    "pages/leaders.py": ("领导包案", "view"), "pages/data_import.py": ("数据导入", "import"),
    "pages/settings.py": ("设置", "settings"), "pages/users.py": ("用户管理", "users"),
    "pages/audit_log.py": ("审计日志", "audit"), "pages/account.py": ("修改密码", None),
    "pages/receptions.py": ("领导接访", "view"), "pages/referrals.py": ("纪委移送", "view"),
    "pages/warnings.py": ("预警预测", "view"),
}
USERS = {"city": "city_user", "county": "county_a", "township": "town_a1", "supervision": "supervisor",
         "bureau": "bureau", "admin": "admin"}


def _menu(at: AppTest) -> set[str]:
    return {link.proto.label for link in at.sidebar.get("page_link")}


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_sees_its_menu_and_is_refused_elsewhere(app_env, role):
    """Pages a role may not use are not in its menu, and a link to them is refused
    (audited), before any data is read."""
    permissions = ROLE_PERMISSIONS[role]
    at = as_user(AppTest.from_file(APP, default_timeout=60), USERS[role])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _menu(at) == {title for title, need in PAGES.values() if need is None or need in permissions}
    for page, (_, need) in PAGES.items():
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        refused = [e.value for e in at.error if e.value.startswith("无权限")]
        if need is None or need in permissions:
            assert not refused, (role, page, refused)
        else:
            assert refused, (role, page)
            assert not at.dataframe and not at.metric, (role, page)
    engine = db.make_engine(app_env)
    with engine.connect() as conn:
        denied = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.user_name == USERS[role], audit_log.c.outcome == "denied")).scalar_one()
    engine.dispose()
    assert denied == sum(1 for _, need in PAGES.values() if need is not None and need not in permissions)


@pytest.mark.parametrize(("link", "value"), [("county", COUNTY_B), ("town", B1), ("county", "999999")])
def test_sidebar_links_outside_the_scope_are_refused(app_env, link, value):
    at = as_user(AppTest.from_file(APP, default_timeout=60), "county_a")
    at.query_params[link] = value
    at.run()
    assert not at.exception
    assert [e.value for e in at.error if e.value.startswith("无权限")]
    assert not at.metric and not at.dataframe


@pytest.mark.parametrize(("page", "param", "value"), [
    ("pages/drill.py", "region", COUNTY_B), ("pages/drill.py", "region", B1),
    ("pages/case.py", "case", "P02"), ("pages/heatmap.py", "township", B1),
])
def test_page_links_outside_the_scope_are_refused(app_env, page, param, value):
    at = as_user(AppTest.from_file(APP, default_timeout=60), "county_a")
    at.run()
    at.query_params[param] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error if e.value.startswith("无权限")], (page, value)
    assert not at.metric
    shown = {t for frame in at.dataframe for t in _cells(getattr(frame.value, "data", frame.value))}
    assert value not in shown and "乙县" not in shown


def test_a_township_user_sees_its_township_only(app_env):
    at = as_user(AppTest.from_file(APP, default_timeout=60), "town_a1")
    at.run()
    assert not at.exception
    assert set(at.sidebar.selectbox(key="filter_county").options) == {"全部", "甲区"}
    assert set(at.sidebar.selectbox(key="filter_township").options) == {"全部", "东门街道"}
    at.switch_page("pages/heatmap.py").run()
    assert not at.exception
    assert at.selectbox(key="heatmap_township").options == ["东门街道（甲区） · 未化解 1 件"]
    listed = [getattr(f.value, "data", f.value) for f in at.dataframe]
    numbers = {n for frame in listed if "信访件编号" in frame.columns for n in frame["信访件编号"]}
    assert numbers == {"B01"}  # 东门街道's one unresolved backlog case (fixture_city.py)


# ------------------------------------------------------------------ role × command

# (command line, the permission it needs: None for reads every case role may do)
COMMANDS = [
    (["kpi", "--json"], "view"),
    (["case", "C01", "--json"], "view"),
    (["meeting", "list", "--json"], "view"),
    (["rules", "list", "--json"], "view"),
    (["calendar", "list"], "view"),
    (["remind", "--preview", "--json"], "view"),
    (["draw", "--n", "1", "--json"], "draw"),
    (["meeting", "create", "--title", "抽查会", "--at", "2026-07-01 14:30", "--json"], "meeting"),
    (["remind", "--json"], "remind"),
    (["extend", "C05", "--days", "10", "--reason", "鉴定"], "extend"),
    (["rules", "assign", "--region", COUNTY_A, "--preset", "tongling-210"], "settings"),
    (["rules", "edit", "tongling-210", "--limit", "acceptance", "--days", "3"], "settings"),
    (["case", "C01", "--reveal", "--reason", "电话告知办理结果", "--json"], "reveal"),
    (["user", "list", "--json"], "users"),
    (["user", "disable", "county_b"], "users"),
    (["audit", "list", "--json"], "audit"),
    (["verify-audit", "--json"], "audit"),
    (["referral", "list", "--json"], "view"),
    (["trace", "add", "C05", "--date", "2026-06-01", "--cause", "职能交叉", "--json"], "accountability"),
    (["revisit", "add", "C01", "--date", "2026-06-01", "--way", "电话回访", "--json"], "revisit"),
    (["warn", "--json"], "view"),
    (["forecast", "--json"], "view"),
    (["sensitive", "add", "--name", "两会", "--from", "2026-06-29", "--to", "2026-07-03", "--json"], "sensitive"),
]


@pytest.mark.parametrize("role", [*USERS, None])
@pytest.mark.parametrize(("argv", "permission"), COMMANDS, ids=[" ".join(c[0][:2]) for c in COMMANDS])
def test_each_command_follows_the_permission_table(city_env, capsys, role, argv, permission):
    """Allowed: exit 0. Refused: exit 3, a Chinese message, no data on stdout. Without a
    user the console may read the whole city and change nothing."""
    user = USERS.get(role)
    roles_permissions = ROLE_PERMISSIONS[role or "console"]
    code = main([*argv, *(["--user", user] if user else [])])
    out, err = capsys.readouterr()
    if permission in roles_permissions:
        assert code == 0, (role, argv, err)
    else:
        assert code == 3, (role, argv, out, err)
        assert "拒绝" in err
        if "--json" in argv:
            assert set(json.loads(out)) == {"error", "exit_code"}
        else:
            assert out == ""


def test_a_command_outside_the_users_region_is_refused(city_env, capsys):
    assert main(["kpi", "--region", COUNTY_B, "--user", "county_a", "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["exit_code"] == 3
    assert main(["case", "P02", "--user", "county_a"]) == 3
    assert capsys.readouterr().out == ""
    assert main(["case", "B02", "--user", "town_a1"]) == 3  # 西门街道: same county, other township
    assert main(["kpi", "--region", A1, "--user", "county_a", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["region"] == A1


def test_the_user_may_come_from_the_environment(city_env, capsys, monkeypatch):
    monkeypatch.setenv("DASHBOARD_USER", "county_b")
    assert main(["kpi", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["region"] == COUNTY_B
    assert main(["kpi", "--json", "--user", "county_a"]) == 0  # the option wins
    assert json.loads(capsys.readouterr().out)["region"] == COUNTY_A
    monkeypatch.setenv("DASHBOARD_USER", "nobody")
    assert main(["kpi"]) == 3
