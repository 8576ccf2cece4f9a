"""Export: cases as a ledger with the Chinese headers of the import (importable again),
personal data masked unless asked otherwise."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.db import read_frame
from dashboard.ledger.fields import CODE_LABELS, FIELDS
from dashboard.models import cases, leaders, regions, units


def ledger_frame(conn: Connection, case_ids: list[int] | None = None, *, masked: bool = True) -> pd.DataFrame:
    """Cases with the Chinese ledger headers of domain.md §7 (importable again).
    Personal data is masked unless `masked` is False."""
    from dashboard.privacy import mask_id_no, mask_name, mask_phone

    county = regions.alias("county")
    township = regions.alias("township")
    responsible = units.alias("responsible")
    competent = units.alias("competent")
    stmt = (
        sa.select(cases, county.c.name.label("county_name"), township.c.name.label("township_name"),
                  responsible.c.name.label("responsible_name"), competent.c.name.label("competent_name"),
                  leaders.c.name.label("leader_name"))
        .select_from(cases.join(county, county.c.code == cases.c.county_code)
                     .outerjoin(township, township.c.code == cases.c.township_code)
                     .outerjoin(responsible, responsible.c.id == cases.c.responsible_unit_id)
                     .outerjoin(competent, competent.c.id == cases.c.competent_unit_id)
                     .outerjoin(leaders, leaders.c.id == cases.c.leader_id))
        .order_by(cases.c.case_no)
    )
    rows = pd.DataFrame()
    if case_ids is None:
        rows = read_frame(conn, stmt)
    else:
        parts = [read_frame(conn, stmt.where(cases.c.id.in_(case_ids[i:i + 5000])))
                 for i in range(0, len(case_ids), 5000)]
        rows = pd.concat(parts, ignore_index=True) if parts else rows
        rows = rows.sort_values("case_no").reset_index(drop=True) if not rows.empty else rows
    if not rows.empty and masked:
        for key, mask in (("petitioner_name", mask_name), ("petitioner_phone", mask_phone),
                          ("petitioner_id_no", mask_id_no)):
            rows[key] = rows[key].map(lambda v, mask=mask: mask(v) if isinstance(v, str) else "")
    if rows.empty:
        return pd.DataFrame(columns=[FIELDS[k][0] for k in FIELDS])

    def yes(series):
        return series.map(lambda v: "是" if v else "否")

    def label_of(key):
        return rows[key].map(lambda v: CODE_LABELS[key].get(v, v) if isinstance(v, str) else "")  # words kept as written too

    columns = {
        "case_no": rows["case_no"], "registered_on": rows["registered_on"], "channel": label_of("channel"),
        "track": label_of("track"), "petitioner_name": rows["petitioner_name"],
        "petitioner_phone": rows["petitioner_phone"], "petitioner_id_no": rows["petitioner_id_no"],
        "persons": rows["persons"], "county": rows["county_name"], "township": rows["township_name"],
        "domain": label_of("domain"), "summary": rows["summary"], "responsible_unit": rows["responsible_name"],
        "competent_unit": rows["competent_name"], "accepted_on": rows["accepted_on"],
        "handling_due": rows["handling_due"], "replied_on": rows["replied_on"], "closed_on": rows["closed_on"],
        "resolved": yes(rows["resolved"]), "resolved_on": rows["resolved_on"],
        "satisfaction": label_of("satisfaction"), "is_backlog": yes(rows["is_backlog"]),
        "backlog_source": label_of("backlog_source"), "clearance_target": rows["clearance_target"],
        "leader": rows["leader_name"], "escalation": label_of("escalation"), "is_repeat": yes(rows["is_repeat"]),
    }
    return pd.DataFrame({FIELDS[key][0]: columns[key] for key in FIELDS})
