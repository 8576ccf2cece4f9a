"""Issue 6 on the fixture city: indicators per region, rankings, leader board, stage
durations, attachments, and the drill-down page at every level."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.attachments import AttachmentError, listing, read, save
from dashboard.deadlines import stage_durations
from queries.filters import Filters, scope_for
from queries.kpi import indicators_by_region
from queries.leaders import leader_board, leader_cases
from queries.rankings import _ranks, previous_month, ranking
from tests.fixture_city import A1, A2, B1, B2, COUNTY_A, COUNTY_B, TODAY
from tests.test_pages import _metrics, _open

D = dt.date
H1 = Filters(date_from=D(2026, 1, 1), date_to=TODAY)


@pytest.fixture
def conn(city_engine):
    with city_engine.connect() as connection:
        yield connection


def test_indicators_by_county(conn):
    frame = indicators_by_region(conn, scope_for(conn), H1).set_index("code")
    a, b = frame.loc[COUNTY_A], frame.loc[COUNTY_B]
    assert (a["total"], a["online_share"], a["timely_acceptance_rate"]) == (4, 0.5, 0.75)
    assert (a["on_time_closure_rate"], a["evaluation_rate"]) == (0.75, 0.75)  # C01 C02 C03 P04
    assert a["satisfaction_rate"] == pytest.approx(2 / 3)
    assert (a["backlog_total"], a["backlog_unresolved"], a["red"], a["yellow"], a["green"]) == (2, 2, 2, 0, 1)
    assert (b["total"], b["timely_acceptance_rate"], b["on_time_closure_rate"]) == (6, 1.0, 1.0)
    assert b["backlog_resolution_rate"] == pytest.approx(2 / 3)
    # red C08; yellow C06 and B05 (its handling deadline, 1 day away, comes first); green C05 C07
    assert (b["red"], b["yellow"], b["green"]) == (1, 2, 2)


def test_indicators_by_township_of_a_county(conn):
    frame = indicators_by_region(conn, scope_for(conn, COUNTY_B), H1).set_index("code")
    assert frame.index.tolist() == [B1, B2]
    assert frame.loc[B1, "total"] == 3 and frame.loc[B2, "total"] == 3  # C05 C06 B03 / C07 C08 B05
    assert pd.isna(frame.loc[B2, "on_time_closure_rate"])  # nothing closed: no rate
    assert frame.loc[B2, "backlog_per_10k"] == pytest.approx(0.2)


def test_rankings(conn):
    city = scope_for(conn)
    counties = ranking(conn, city, H1, "county", "on_time_closure_rate")
    assert counties[["name", "rank", "previous_rank", "change"]].values.tolist() == [
        ["乙县", 1, 1, 0], ["甲区", 2, 2, 0]]
    towns = ranking(conn, city, H1, "township", "backlog_per_10k")  # lower is better
    assert towns["code"].tolist() == [B1, B2, A2, A1]
    assert towns["value"].tolist() == [0.0, 0.2, 0.25, 0.5]
    assert previous_month(H1).period == (D(2025, 12, 1), D(2026, 5, 30))


def test_rank_ties_and_missing_values():
    values = pd.Series([0.9, 0.8, 0.9, None, 0.7])
    assert _ranks(values, True).tolist() == [1, 3, 1, pd.NA, 4]
    assert _ranks(values, False).tolist() == [3, 2, 3, pd.NA, 1]


def test_leader_board(conn):
    board = leader_board(conn, scope_for(conn), H1).set_index("name")
    assert board.loc["赵一", ["cases", "resolved", "overdue"]].tolist() == [2, 0, 1]  # B01 B02; B02 red
    assert board.loc["钱二", ["cases", "resolved", "overdue"]].tolist() == [3, 2, 0]  # B03 B04 resolved
    assert board.loc["钱二", "resolution_rate"] == pytest.approx(2 / 3)
    assert board.index.tolist()[0] == "赵一"  # most overdue first
    assert leader_cases(conn, scope_for(conn), H1, 2)["case_no"].tolist() == ["B04", "B03", "B05"]


def test_stage_durations():
    c02 = dict(registered_on=D(2026, 2, 5), accepted_on=D(2026, 2, 25), acceptance_due=D(2026, 2, 20),
               closed_on=D(2026, 5, 10), handling_due=D(2026, 4, 26), is_backlog=False, resolved_on=None,
               clearance_target=None)
    stages = stage_durations(c02, D(2026, 5, 12), TODAY).set_index("stage")
    assert stages.loc["acceptance", ["days", "limit_days", "overdue"]].tolist() == [20, 15, True]
    assert stages.loc["handling", ["days", "limit_days", "overdue"]].tolist() == [74, 60, True]
    assert stages.loc["evaluation", "days"] == 2
    c04 = dict(c02, registered_on=D(2026, 4, 10), accepted_on=D(2026, 4, 11), acceptance_due=D(2026, 4, 25),
               closed_on=None, handling_due=D(2026, 6, 10))
    stages = stage_durations(c04, None, TODAY).set_index("stage")
    assert stages.loc["acceptance", ["days", "overdue"]].tolist() == [1, False]
    assert stages.loc["handling", ["days", "limit_days", "ongoing", "overdue"]].tolist() == [80, 60, True, True]
    assert "evaluation" not in stages.index
    b01 = dict(c02, is_backlog=True, registered_on=D(2025, 3, 1), accepted_on=D(2025, 3, 2),
               acceptance_due=D(2025, 3, 16), closed_on=D(2025, 4, 20), handling_due=D(2025, 5, 1),
               clearance_target=D(2026, 9, 30))
    stages = stage_durations(b01, None, TODAY).set_index("stage")
    assert stages.loc["clearance", ["days", "ongoing", "overdue"]].tolist() == [486, True, False]


def test_attachments(writable_city, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "files"))
    _, engine = writable_city
    with engine.begin() as conn:
        save(conn, 1, "现场照片.JPG", b"\xff\xd8photo", uploaded_by="督查室")
        save(conn, 1, "答复意见书.pdf", b"%PDF-1.4", uploaded_by="督查室")
    for name, data, message in (("脚本.exe", b"x", "不支持的文件类型"), ("空.pdf", b"", "空文件")):
        with pytest.raises(AttachmentError, match=message), engine.begin() as conn:
            save(conn, 1, name, data, uploaded_by="x")
    with engine.connect() as conn:
        files = listing(conn, 1)
    assert files[["filename", "kind", "size_bytes"]].values.tolist() == [
        ["现场照片.JPG", "photo", 7], ["答复意见书.pdf", "document", 8]]
    assert read(files.loc[1, "stored_name"]) == b"%PDF-1.4"
    assert sorted(p.suffix for p in (tmp_path / "files").iterdir()) == [".jpg", ".pdf"]


@pytest.mark.parametrize("region,total,links,current", [
    (None, "10", [], "**测试市**"),
    (COUNTY_A, "4", [("测试市 ›", "880100")], "**甲区**"),
    (A2, "2", [("测试市 ›", "880100"), ("甲区 ›", "880102")], "**西门街道**"),
])
def test_drill_page_levels(app_env, region, total, links, current):
    at = _open("pages/drill.py", **({"region": region} if region else {}))
    assert _metrics(at)["信访总量（件）"] == total
    crumbs = [(link.proto.label, link.proto.query_string.removeprefix("region=")) for link in at.get("page_link")
              if link.proto.label.endswith("›")]
    assert crumbs == links
    assert at.markdown[0].value == current


def test_drill_children_and_unknown_region(app_env):
    at = _open("pages/drill.py", region=COUNTY_B)
    children = next(t.value for t in at.dataframe if "乡镇（街道）" in t.value.columns)
    assert children["乡镇（街道）"].tolist() == ["南山镇", "北河乡"]
    assert children["信访总量"].tolist() == [3, 3]
    assert children["进入"].tolist()[0] == f"drill?region={B1}"
    lost = _open("pages/drill.py", region="123456")
    assert "不存在或不在您的查看范围内" in lost.error[0].value


def test_link_restores_period_filter(app_env):
    at = _open(**{"from": "2026-01-01", "to": "2026-03-31"})
    assert _metrics(at)["信访总量（件）"] == "4"  # C01 C02 C03 B03
    assert at.query_params["to"] == ["2026-03-31"] or at.query_params["to"] == "2026-03-31"


def test_rankings_and_leaders_pages(app_env):
    at = _open("pages/rankings.py")
    table = next(t.value for t in at.dataframe if "名次" in t.value.columns)
    assert table["县区"].tolist() == ["乙县", "甲区"]  # timely acceptance: 100% vs 75%
    assert table["名次变化"].tolist() == ["持平", "持平"]
    board = _open("pages/leaders.py")
    assert _metrics(board)["包案件数"] == "5"
    assert _metrics(board)["有超期案件的领导（人）"] == "1"


def test_rank_change_against_last_month(writable_city):

    from dashboard.models import cases

    _, engine = writable_city
    with engine.begin() as conn:  # C06 (乙县) now accepted late, in June only
        conn.execute(cases.update().where(cases.c.case_no == "C06").values(accepted_on=D(2026, 6, 20)))
    with engine.connect() as conn:
        frame = ranking(conn, scope_for(conn), H1, "county", "timely_acceptance_rate").set_index("name")
    # now: 甲区 3/4, 乙县 3/4 (tied first); a month earlier: 乙县 3/3 first, 甲区 4/5 second
    assert frame.loc["甲区", ["rank", "previous_rank", "change"]].tolist() == [1, 2, 1]
    assert frame.loc["乙县", ["rank", "previous_rank", "change"]].tolist() == [1, 1, 0]
    assert frame.loc["甲区", "previous_value"] == pytest.approx(0.8)
