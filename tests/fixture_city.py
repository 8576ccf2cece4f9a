"""A tiny hand-built city whose figures are worked out by hand in the tests.

Deadlines are set by hand here (not recomputed from presets) so that each color and
rate case is easy to follow; tests of the deadline calculator recompute them.

Business date: 2026-06-30 (the default period is then 2026-01-01 … 2026-06-30).

Region codes follow the sample city's convention (a city's counties share its first
four digits): city 880100 测试市, counties 880102 甲区 and 880121 乙县, two townships
each. Every case below is commented with what it contributes to the expected figures.
"""

from __future__ import annotations

import datetime as dt
import functools
import json

import sqlalchemy as sa

from dashboard.draws import Candidate
from dashboard.models import cases, leaders, regions, units, users

TODAY = dt.date(2026, 6, 30)
CITY, COUNTY_A, COUNTY_B = "880100", "880102", "880121"
A1, A2, B1, B2 = "880102001", "880102002", "880121001", "880121002"


def _square(x: float, y: float) -> str:
    ring = [[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


REGIONS = [
    dict(code=CITY, name="测试市", level="city", parent_code=None, population=None),
    dict(code=COUNTY_A, name="甲区", level="county", parent_code=CITY, population=None),
    dict(code=COUNTY_B, name="乙县", level="county", parent_code=CITY, population=None),
    dict(code=A1, name="东门街道", level="township", parent_code=COUNTY_A, population=20_000),
    dict(code=A2, name="西门街道", level="township", parent_code=COUNTY_A, population=40_000),
    dict(code=B1, name="南山镇", level="township", parent_code=COUNTY_B, population=10_000),
    dict(code=B2, name="北河乡", level="township", parent_code=COUNTY_B, population=50_000),
]
_CORNERS = {A1: (110.0, 30.0), A2: (110.1, 30.0), B1: (110.0, 30.1), B2: (110.1, 30.1)}

UNITS = [
    dict(id=1, name="东门街道办事处", kind="township_gov", region_code=A1),
    dict(id=2, name="西门街道办事处", kind="township_gov", region_code=A2),
    dict(id=3, name="南山镇人民政府", kind="township_gov", region_code=B1),
    dict(id=4, name="北河乡人民政府", kind="township_gov", region_code=B2),
    dict(id=5, name="测试市自然资源局", kind="bureau", region_code=CITY),
]
LEADERS = [
    dict(id=1, name="赵一", title="甲区副区长", level="county", region_code=COUNTY_A),
    dict(id=2, name="钱二", title="乙县副县长", level="county", region_code=COUNTY_B),
]

D = dt.date


def _case(case_no, registered_on, channel, township, domain, unit, **fields):
    row = dict(
        case_no=case_no, registered_on=registered_on, channel=channel,
        county_code=township[:6], township_code=township, domain=domain,
        responsible_unit_id=unit, competent_unit_id=5, persons=1, is_collective=False,
        escalation="none", accepted_on=None, acceptance_due=None, handling_due=None,
        replied_on=None, closed_on=None, resolved=False, resolved_on=None, satisfaction=None,
        is_backlog=False, backlog_source=None, clearance_target=None, leader_id=None,
        summary=f"{case_no} 诉求摘要", petitioner_name="测试人", track="general",
    )
    row.update(fields)
    row["resolved"] = row["resolved_on"] is not None
    return row


CASES = [
    # Received in 2026 H1 (10 cases: C01–C08, B03, B05).
    # accepted on time; closed on time; satisfied
    _case("C01", D(2026, 1, 10), "online", A1, "land", 1,
          accepted_on=D(2026, 1, 12), acceptance_due=D(2026, 1, 25),
          handling_due=D(2026, 3, 13), closed_on=D(2026, 3, 1), satisfaction="satisfied"),
    # accepted late; closed late; unsatisfied; escalated to Beijing, 2 persons
    _case("C02", D(2026, 2, 5), "letter", A1, "labor", 1,
          accepted_on=D(2026, 2, 25), acceptance_due=D(2026, 2, 20),
          handling_due=D(2026, 4, 26), closed_on=D(2026, 5, 10), satisfaction="unsatisfied",
          escalation="beijing", persons=2),
    # closed on time, not evaluated
    _case("C03", D(2026, 3, 1), "online", A2, "housing", 2,
          accepted_on=D(2026, 3, 3), acceptance_due=D(2026, 3, 16),
          handling_due=D(2026, 5, 2), closed_on=D(2026, 4, 20)),
    # open, handling deadline passed 20 days ago -> red; collective, 8 persons, to province
    _case("C04", D(2026, 4, 10), "visit", A2, "land", 2,
          accepted_on=D(2026, 4, 11), acceptance_due=D(2026, 4, 25),
          handling_due=D(2026, 6, 10), persons=8, is_collective=True, escalation="province"),
    # open, 20 days left, 40 of 60 days used -> green
    _case("C05", D(2026, 5, 20), "online", B1, "environment", 3,
          accepted_on=D(2026, 5, 21), acceptance_due=D(2026, 6, 4), handling_due=D(2026, 7, 20)),
    # open, 3 days left -> yellow
    _case("C06", D(2026, 6, 1), "online", B1, "labor", 3,
          accepted_on=D(2026, 6, 2), acceptance_due=D(2026, 6, 16), handling_due=D(2026, 7, 3)),
    # not yet accepted, 10 days left of 15 -> green
    _case("C07", D(2026, 6, 25), "phone", B2, "health", 4, acceptance_due=D(2026, 7, 10)),
    # not accepted, acceptance deadline passed 5 days ago -> red
    _case("C08", D(2026, 6, 10), "mailbox", B2, "land", 4,
          acceptance_due=D(2026, 6, 25)),
    # Backlog cases (积案): B01–B05; at 2026-06-30 five in all, two resolved.
    # 2025, closed but unresolved, clearance target 2026-09-30 (92 days left) -> green
    _case("B01", D(2025, 3, 1), "letter", A1, "land", 1,
          accepted_on=D(2025, 3, 2), acceptance_due=D(2025, 3, 16),
          handling_due=D(2025, 5, 1), closed_on=D(2025, 4, 20), is_backlog=True,
          backlog_source="national", clearance_target=D(2026, 9, 30), leader_id=1),
    # 2025, open, on the clearance list; still in handling, its handling deadline
    # 2025-08-01 (-333 days, before the target 2026-03-31) is its current deadline -> red
    _case("B02", D(2025, 6, 1), "visit", A2, "housing", 2,
          accepted_on=D(2025, 6, 2), acceptance_due=D(2025, 6, 16),
          handling_due=D(2025, 8, 1), is_backlog=True, backlog_source="province",
          clearance_target=D(2026, 3, 31), leader_id=1),
    # 2026, closed on time and resolved 2026-03-20; basic satisfaction
    _case("B03", D(2026, 2, 1), "online", B1, "labor", 3,
          accepted_on=D(2026, 2, 2), acceptance_due=D(2026, 2, 16),
          handling_due=D(2026, 4, 3), closed_on=D(2026, 3, 20), satisfaction="basic",
          is_backlog=True, backlog_source="local", clearance_target=D(2026, 6, 30),
          resolved_on=D(2026, 3, 20), leader_id=2),
    # 2025, resolved 2025-12-01 (before the period)
    _case("B04", D(2025, 9, 1), "letter", B2, "land", 4,
          accepted_on=D(2025, 9, 2), acceptance_due=D(2025, 9, 16),
          handling_due=D(2025, 11, 1), closed_on=D(2025, 10, 15), satisfaction="satisfied",
          is_backlog=True, backlog_source="national", clearance_target=D(2025, 12, 31),
          resolved_on=D(2025, 12, 1), leader_id=2),
    # 2026, open, on the clearance list: target 2026-12-31 is 184 days away, but its
    # handling deadline, 1 day away, comes first and is its current deadline -> yellow
    _case("B05", D(2026, 5, 1), "online", B2, "environment", 4,
          accepted_on=D(2026, 5, 2), acceptance_due=D(2026, 5, 16),
          handling_due=D(2026, 7, 1), is_backlog=True, backlog_source="province",
          clearance_target=D(2026, 12, 31), leader_id=2),
    # Earlier cases: P01, P02 fall in 2025 H1 (with B01, B02: 4 received last year).
    _case("P01", D(2025, 2, 10), "online", A1, "labor", 1,
          accepted_on=D(2025, 2, 11), acceptance_due=D(2025, 2, 25),
          handling_due=D(2025, 4, 12), closed_on=D(2025, 4, 1), satisfaction="satisfied"),
    _case("P02", D(2025, 5, 15), "letter", B1, "labor", 3,
          accepted_on=D(2025, 5, 16), acceptance_due=D(2025, 5, 30),
          handling_due=D(2025, 7, 15), closed_on=D(2025, 6, 20), satisfaction="satisfied"),
    _case("P03", D(2025, 8, 1), "online", B1, "education", 3,
          accepted_on=D(2025, 8, 2), acceptance_due=D(2025, 8, 16),
          handling_due=D(2025, 10, 1), closed_on=D(2025, 9, 1), satisfaction="satisfied"),
    # registered 2025, accepted 2025, closed on time in the period; satisfied
    _case("P04", D(2025, 12, 20), "online", A1, "agriculture", 1,
          accepted_on=D(2025, 12, 21), acceptance_due=D(2026, 1, 4),
          handling_due=D(2026, 2, 18), closed_on=D(2026, 2, 10), satisfaction="satisfied"),
]


# One user per role (and per county / township where the role has one), all with the
# password PASSWORD. Named after what they may see, so a test reads as its rule.
PASSWORD = "fixture-pass"
USERS = [
    ("city_user", "city", CITY),
    ("county_a", "county", COUNTY_A),
    ("county_b", "county", COUNTY_B),
    ("town_a1", "township", A1),
    ("town_b1", "township", B1),
    ("supervisor", "supervision", CITY),
    ("bureau", "bureau", CITY),
    ("admin", "admin", None),
]


@functools.cache
def _password_hash() -> str:
    """One argon2 hash of PASSWORD for every fixture user (hashing is slow by design)."""
    from dashboard.auth import hash_password

    return hash_password(PASSWORD)


def build(engine: sa.Engine) -> None:
    """Create the schema and insert the fixture city (on SQLite or PostgreSQL)."""
    from dashboard import db
    from dashboard.deadlines import seed_presets

    db.create_schema(engine)
    with engine.begin() as conn:
        seed_presets(conn)
        rows = []
        for region in REGIONS:
            corner = _CORNERS.get(region["code"])
            rows.append(
                dict(
                    region,
                    lon=corner[0] + 0.05 if corner else 110.1,
                    lat=corner[1] + 0.05 if corner else 30.1,
                    boundary=_square(*corner) if corner else None,
                )
            )
        # Parents first so the foreign key on parent_code holds.
        conn.execute(regions.insert(), rows)
        conn.execute(units.insert(), UNITS)
        conn.execute(leaders.insert(), LEADERS)
        conn.execute(cases.insert(), [dict(row, id=i) for i, row in enumerate(CASES, start=1)])
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; draws insert without ids.
            for table in ("units", "leaders", "cases"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
        conn.execute(users.insert(), [
            dict(name=name, display_name=name, role=role, region_code=region, password_hash=_password_hash(),
                 must_change_password=False, disabled=False, failed_attempts=0, created_at=dt.datetime(2026, 1, 1))
            for name, role, region in USERS
        ])
        # The summary tables, colors as of the fixture's today (other dates: computed from the cases)
        from dashboard import summaries

        summaries.rebuild(conn, as_of=TODAY)


# A candidate pool for the pure draw tests: 20 cases in four counties of 12, 5, 2 and 1.
DRAW_POOL = [Candidate(i, f"YX2025-{county}-{i:06d}", f"9901{county}")
             for i, county in enumerate(["02"] * 12 + ["21"] * 5 + ["22"] * 2 + ["23"], start=1)]
