"""One demo user per role for the sample city, so a newcomer can try each role at
once (listed in the README). Fictional accounts for the fictional city only."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import auth
from dashboard.models import regions, users

DEMO_PASSWORD = "yunxi-demo"
DEMO_COUNTY = "990121"  # 临江县

# name, role, display name; the county and township users get 临江县 and its first township.
DEMO_USERS = (
    ("demo-city", "city", "市领导（演示）"),
    ("demo-county", "county", "临江县领导（演示）"),
    ("demo-township", "township", "乡镇干部（演示）"),
    ("demo-supervision", "supervision", "市委督查室（演示）"),
    ("demo-bureau", "bureau", "市信访局（演示）"),
    ("demo-admin", "admin", "系统管理员（演示）"),
)


def add_demo_users(conn: Connection) -> list[str]:
    """Create the demo users that do not exist yet; returns their names."""
    township = conn.execute(sa.select(regions.c.code).where(regions.c.parent_code == DEMO_COUNTY)
                            .order_by(regions.c.code).limit(1)).scalar()
    region = {"county": DEMO_COUNTY, "township": township}
    existing = set(conn.execute(sa.select(users.c.name)).scalars())
    made = []
    for name, role, display in DEMO_USERS:
        if name in existing:
            continue
        auth.create_user(conn, name, role, region.get(role), DEMO_PASSWORD, must_change=False, display_name=display)
        made.append(name)
    return made
