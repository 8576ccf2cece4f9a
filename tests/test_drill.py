"""Issue 6 on the fixture city: indicators per region, rankings and rank changes, the
leader board, attachments, and the drill-down, rankings and leader pages (every level,
map clicks, shareable links). Expected figures are worked out by hand from
tests/fixture_city.py (business date 2026-06-30)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.elements.lib import policies

from dashboard.attachments import AttachmentError, exists, listing, loader, read, save
from dashboard.models import case_events, cases, regions
from pages import widgets
from queries.filters import Filters, scope_for
from queries.kpi import indicators_by_region
from queries.leaders import leader_board, leader_cases
from queries.rankings import _ranks, comparison_period, describe_comparison, month_back, ranking
from tests.fixture_city import A1, A2, B1, B2, COUNTY_A, COUNTY_B, TODAY
from tests.test_pages import _case_tables, _metrics, _open, _table_with

D = dt.date
H1 = Filters(date_from=D(2026, 1, 1), date_to=TODAY)


@pytest.fixture
def conn(city_engine):
    with city_engine.connect() as connection:
        yield connection


def _update(url: str, *statements) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)
        # Statements written straight to the tables bypass the write paths: rebuild the summaries
        from dashboard import summaries

        summaries.rebuild(connection, as_of=TODAY)
    engine.dispose()


def _select(at, element_id: str, value: dict, timeout: float = 20):
    """Run the app as if the browser had reported `value` for the widget `element_id`
    (a map or table selection, which AppTest cannot click)."""
    states = at._tree.get_widget_states()
    kept = [w for w in states.widgets if w.id != element_id]
    del states.widgets[:]
    states.widgets.extend(kept)
    state = states.widgets.add()
    state.id = element_id
    state.string_value = json.dumps(value)
    return at._run(states, timeout=timeout)


def _select_row(at, key: str, row: int):
    table = next(t for t in at.dataframe if t.proto.id.endswith(f"-{key}"))
    return _select(at, table.proto.id, {"selection": {"rows": [row], "columns": [], "cells": []}})


# ---------------------------------------------------------------- indicators


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
    assert frame.loc[B2, "backlog_per_10k"] == pytest.approx(0.2)  # B05 among 50,000 residents


# ---------------------------------------------------------------- rankings


def test_comparison_period():
    # Year to date: the same start to the end of the previous month.
    previous, kind = comparison_period(H1)
    assert (previous.period, kind) == ((D(2026, 1, 1), D(2026, 5, 31)), "year_to_date")
    assert comparison_period(Filters(D(2026, 1, 1), D(2026, 6, 15)))[0].period == (D(2026, 1, 1), D(2026, 5, 31))
    assert comparison_period(Filters(D(2026, 1, 1), D(2026, 1, 20)))[0] is None  # January: nothing before
    # Other periods: one calendar month back, month ends to month ends.
    previous, kind = comparison_period(Filters(D(2026, 4, 1), D(2026, 6, 30)))
    assert (previous.period, kind) == ((D(2026, 3, 1), D(2026, 5, 31)), "shifted")
    assert comparison_period(Filters(D(2026, 5, 15), D(2026, 6, 15)))[0].period == (D(2026, 4, 15), D(2026, 5, 15))
    assert comparison_period(Filters(D(2025, 12, 15), D(2026, 3, 30)))[0].period == (D(2025, 11, 15), D(2026, 2, 28))
    assert [month_back(d) for d in (D(2024, 3, 30), D(2024, 3, 31), D(2026, 1, 31), D(2026, 2, 28))] == [
        D(2024, 2, 29), D(2024, 2, 29), D(2025, 12, 31), D(2026, 1, 31)]
    assert describe_comparison(H1) == "名次变化对比上月末累计（2026-01-01 至 2026-05-31）"
    assert describe_comparison(Filters(D(2026, 4, 1), D(2026, 6, 30))) == (
        "名次变化对比上月同期（2026-03-01 至 2026-05-31）")


def test_rankings(conn):
    city = scope_for(conn)
    counties = ranking(conn, city, H1, "county", "on_time_closure_rate")
    # Closed 1 Jan–30 Jun: 乙县 B03 on time (1/1), 甲区 C01 C03 P04 of C01 C02 C03 P04 (3/4);
    # 1 Jan–31 May: the same cases.
    assert counties[["name", "rank", "previous_rank", "change"]].values.tolist() == [
        ["乙县", 1, 1, 0], ["甲区", 2, 2, 0]]
    towns = ranking(conn, city, H1, "township", "backlog_per_10k")  # lower is better
    assert towns["code"].tolist() == [B1, B2, A2, A1]
    assert towns["value"].tolist() == pytest.approx([0.0, 0.2, 0.25, 0.5])


def test_rank_ties_and_missing_values():
    values = pd.Series([0.9, 0.8, 0.9, None, 0.7])
    assert _ranks(values, True).tolist() == [1, 3, 1, pd.NA, 4]
    assert _ranks(values, False).tolist() == [3, 2, 3, pd.NA, 1]


def test_backlog_per_10k_is_ranked_on_exact_values(writable_city):
    url, engine = writable_city
    # One unresolved case each: 1 / 40,001 and 1 / 39,999 residents both round to 0.25.
    _update(url, regions.update().where(regions.c.code == A2).values(population=40_001),
            regions.update().where(regions.c.code == A1).values(population=39_999))
    with engine.connect() as connection:
        towns = ranking(connection, scope_for(connection), H1, "township", "backlog_per_10k")
    assert towns["code"].tolist() == [B1, B2, A2, A1]
    assert towns["rank"].tolist() == [1, 2, 3, 4]  # no false tie at 0.25
    assert towns["value"].round(2).tolist() == [0.0, 0.2, 0.25, 0.25]


def test_rank_change_year_to_date(writable_city):
    url, engine = writable_city
    _update(url, cases.update().where(cases.c.case_no == "C06").values(accepted_on=D(2026, 6, 20)))  # late, in June
    with engine.connect() as connection:
        city = scope_for(connection)
        counties = ranking(connection, city, H1, "county", "timely_acceptance_rate").set_index("name")
        towns = ranking(connection, city, H1, "township", "timely_acceptance_rate")
    # Accepted 1 Jan–30 Jun: 甲区 C01 C03 C04 of C01 C02 C03 C04 (3/4); 乙县 C05 B03 B05 of
    # C05 C06 B03 B05 (3/4): tied first. Up to 31 May: 甲区 the same 3/4; 乙县 3/3, first.
    assert counties.loc["甲区", ["rank", "previous_rank", "change"]].tolist() == [1, 2, 1]
    assert counties.loc["乙县", ["rank", "previous_rank", "change"]].tolist() == [1, 1, 0]
    assert counties.loc["甲区", "previous_value"] == pytest.approx(0.75)
    assert counties.loc["乙县", "previous_value"] == pytest.approx(1.0)
    # Townships now: 西门 C03 C04 2/2, 北河 B05 1/1, 南山 C05 B03 of C05 C06 B03 2/3, 东门 C01
    # of C01 C02 1/2. Up to 31 May: 西门, 南山 (C05 B03) and 北河 tied first, 东门 fourth.
    assert towns[["name", "value", "rank", "previous_rank", "change"]].values.tolist() == [
        ["西门街道", 1.0, 1, 1, 0], ["北河乡", 1.0, 1, 1, 0], ["南山镇", pytest.approx(2 / 3), 3, 1, -2],
        ["东门街道", 0.5, 4, 4, 0]]


def test_rank_change_against_the_month_before(conn):
    # April–June against March–May, on-time closure (cases closed in the period):
    # now 甲区 C03 on time, C02 late (1/2); 乙县 closed nothing (no rank).
    # before 甲区 C01 C03 on time, C02 late (2/3), second; 乙县 B03 on time (1/1), first.
    frame = ranking(conn, scope_for(conn), Filters(D(2026, 4, 1), TODAY), "county", "on_time_closure_rate")
    assert frame["name"].tolist() == ["甲区", "乙县"]
    assert frame["value"].tolist()[0] == 0.5 and pd.isna(frame["value"].tolist()[1])
    assert frame["rank"].tolist() == [1, pd.NA]
    assert frame["previous_rank"].tolist() == [2, 1]
    assert frame["change"].tolist() == [1, pd.NA]


# ---------------------------------------------------------------- leader board


@pytest.mark.parametrize("stored_colors", [True, False], ids=["stored-colors", "colored-here"])
def test_leader_board(conn, stored_colors, monkeypatch):
    if not stored_colors:  # a period end the colors are not stored for: colored by the rule here
        monkeypatch.setattr("queries.summary._colors_ready", lambda *_: False)
    board = leader_board(conn, scope_for(conn), H1).set_index("name")
    assert board.loc["赵一", ["cases", "resolved", "overdue", "other_cases"]].tolist() == [2, 0, 1, 0]  # B01 B02
    assert board.loc["钱二", ["cases", "resolved", "overdue", "other_cases"]].tolist() == [3, 2, 0, 0]  # B03 B04 B05
    assert board.loc["钱二", "resolution_rate"] == pytest.approx(2 / 3)
    assert board.index.tolist()[0] == "赵一"  # most overdue first
    assert leader_cases(conn, scope_for(conn), H1, 2)["case_no"].tolist() == ["B04", "B03", "B05"]


def test_leader_board_counts_backlog_cases_only(writable_city):
    url, engine = writable_city
    _update(
        url,
        # 赵一 also takes C04 (collective visit, red) and 钱二 P01 (closed, never resolved):
        # neither is a backlog case, so neither changes cases, resolved, rate or overdue.
        cases.update().where(cases.c.case_no == "C04").values(leader_id=1),
        cases.update().where(cases.c.case_no == "P01").values(leader_id=2),
        case_events.insert().values(case_id=10, kind="handled", at=dt.datetime(2026, 6, 10, 10, 0)),  # B02
        case_events.insert().values(case_id=4, kind="handled", at=dt.datetime(2026, 6, 25, 10, 0)),  # C04
        case_events.insert().values(case_id=13, kind="handled", at=dt.datetime(2026, 7, 5, 10, 0)),  # B05, later
    )
    with engine.connect() as connection:
        board = leader_board(connection, scope_for(connection), H1).set_index("name")
        listed = leader_cases(connection, scope_for(connection), H1, 1)
    assert board.loc["赵一", ["cases", "resolved", "overdue", "other_cases"]].tolist() == [2, 0, 1, 1]
    assert board.loc["钱二", ["cases", "resolved", "overdue", "other_cases"]].tolist() == [3, 2, 0, 1]
    assert board.loc["钱二", "resolution_rate"] == pytest.approx(2 / 3)  # not 2/4
    assert board.loc["赵一", "days_since_action"] == 20  # B02 on 10 Jun; C04 is not a backlog case
    assert pd.isna(board.loc["钱二", "days_since_action"])  # B05's step is after the period
    assert listed["case_no"].tolist() == ["B01", "B02", "C04"]  # backlog cases first


# ---------------------------------------------------------------- attachments


def test_attachments(writable_city, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "files"))
    _, engine = writable_city
    with engine.begin() as connection:
        save(connection, 1, "现场照片.JPG", b"\xff\xd8photo", uploaded_by="督查室")
        save(connection, 1, "答复意见书.pdf", b"%PDF-1.4", uploaded_by="督查室")
    for name, data, message in (("脚本.exe", b"x", "不支持的文件类型"), ("空.pdf", b"", "空文件")):
        with pytest.raises(AttachmentError, match=message), engine.begin() as connection:
            save(connection, 1, name, data, uploaded_by="x")
    with engine.connect() as connection:
        files = listing(connection, 1)
    assert files[["filename", "kind", "size_bytes"]].values.tolist() == [
        ["现场照片.JPG", "photo", 7], ["答复意见书.pdf", "document", 8]]
    assert read(files.loc[1, "stored_name"]) == b"%PDF-1.4"
    assert sorted(p.suffix for p in (tmp_path / "files").iterdir()) == [".jpg", ".pdf"]
    # The page hands a loader to the download button: the bytes are read when it is called.
    load = loader(files.loc[1, "stored_name"], "答复意见书.pdf")
    (tmp_path / "files" / files.loc[1, "stored_name"]).write_bytes(b"%PDF-1.7")
    assert load() == b"%PDF-1.7"
    (tmp_path / "files" / files.loc[1, "stored_name"]).unlink()
    assert not exists(files.loc[1, "stored_name"])
    with pytest.raises(AttachmentError, match="答复意见书.pdf"):
        load()


# ---------------------------------------------------------------- drill-down page


@pytest.mark.parametrize("region,total,colors,links,current,period_tab", [
    (None, "10", ["8", "3", "2", "3"], [], "**测试市**", "本期全部案件"),  # listed per county / township
    (COUNTY_A, "4", ["3", "2", "0", "1"], [("测试市 ›", "880100")], "**甲区**", "本期全部案件（4 件）"),
    (A2, "2", ["2", "2", "0", "0"], [("测试市 ›", "880100"), ("甲区 ›", "880102")], "**西门街道**",
     "本期全部案件（2 件）"),  # C03 C04
])
def test_drill_page_levels(app_env, region, total, colors, links, current, period_tab):
    at = _open("pages/drill.py", **({"region": region} if region else {}))
    shown = _metrics(at)
    assert shown["信访总量（件）"] == total
    # Open at 30 Jun: red B02 C04 C08, yellow C06 and B05 (handling due 1 Jul, before its
    # clearance target), green C05 C07 B01 (西门: B02 C04, both red).
    assert [shown[k] for k in ("期末在办（件）", "红色（超期）", "黄色（临期）", "绿色（正常）")] == colors
    crumbs = [(link.proto.label, link.proto.query_string.removeprefix("region=")) for link in at.get("page_link")
              if link.proto.label.endswith("›")]
    assert crumbs == links
    assert at.markdown[0].value == current
    assert at.tabs[1].label == period_tab


def test_drill_children_and_unknown_region(app_env):
    at = _open("pages/drill.py", region=COUNTY_B)
    children = next(t.value for t in at.dataframe if "乡镇（街道）" in t.value.columns)
    assert children["乡镇（街道）"].tolist() == ["南山镇", "北河乡"]
    assert children["信访总量"].tolist() == [3, 3]
    assert children["进入"].tolist()[0] == f"drill?region={B1}"
    lost = _open("pages/drill.py", region="123456")
    assert "不在您的查看范围内（或不存在）" in lost.error[0].value  # same refusal as out of scope


def test_drill_links_leave_the_sidebar_region_out(app_env):
    # Opened with the sidebar's county set: links to other levels carry only `region`
    # and the period, never `county` / `town` (the drill level replaces them).
    at = _open("pages/drill.py", region=COUNTY_A, county=COUNTY_A, **{"from": "2026-02-01", "to": "2026-06-30"})
    queries = [link.proto.query_string for link in at.get("page_link") if "region=" in link.proto.query_string]
    assert sorted(queries) == sorted(f"from=2026-02-01&to=2026-06-30&region={code}" for code in (CITY_CODE, A1, A2))
    children = next(t.value for t in at.dataframe if "进入" in t.value.columns)
    assert all("county=" not in link and "town=" not in link for link in children["进入"])


CITY_CODE = "880100"


def _rectangle(x0: float, y0: float, x1: float, y1: float) -> str:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def test_drill_map_click_descends_once(app_env):
    # Counties get outlines too, so the city level draws a map (the fixture has township outlines).
    _update(app_env, regions.update().where(regions.c.code == COUNTY_A).values(boundary=_rectangle(110, 30, 110.2, 30.1)),
            regions.update().where(regions.c.code == COUNTY_B).values(boundary=_rectangle(110, 30.1, 110.2, 30.2)))
    at = _open("pages/drill.py")
    city_map = next(iter(at.get("deck_gl_json_chart")))
    picked = {"selection": {"indices": {"drill_regions": [1]},
                            "objects": {"drill_regions": [{"code": COUNTY_B, "name": "乙县", "value": 1}]}}}
    # The run ends on the county, whose own map has no selection (the city map's selection
    # surviving into the county's map would descend again on every run, for ever).
    _select(at, city_map.proto.id, picked)
    assert not at.exception
    assert at.query_params["region"] in (COUNTY_B, [COUNTY_B])
    assert at.markdown[0].value == "**乙县**"
    assert _metrics(at)["信访总量（件）"] == "6"
    county_map = next(iter(at.get("deck_gl_json_chart")))
    assert county_map.proto.id != city_map.proto.id
    at.run()  # and stays there
    assert at.markdown[0].value == "**乙县**"
    # A click on a township of the county descends to it.
    picked = {"selection": {"indices": {"drill_regions": [1]},
                            "objects": {"drill_regions": [{"code": B2, "name": "北河乡", "value": 1}]}}}
    _select(at, county_map.proto.id, picked)
    assert not at.exception
    assert at.markdown[0].value == "**北河乡**"
    assert _metrics(at)["信访总量（件）"] == "3"  # C07 C08 B05


def test_drill_open_and_period_cases(app_env):
    at = _open("pages/drill.py", region=COUNTY_B)
    assert [t.label for t in at.tabs] == ["期末在办（5 件）", "本期全部案件（6 件）"]
    open_cases, period = _case_tables(at)
    # red C08; yellow B05 (1 day left), C06 (3); green C07 (10), C05 (20)
    assert open_cases["信访件编号"].tolist() == ["C08", "B05", "C06", "C07", "C05"]
    # Registered 1 Jan–30 Jun in 乙县, newest first; B03 is closed (no stage, no color).
    assert period["信访件编号"].tolist() == ["C07", "C08", "C06", "C05", "B05", "B03"]
    assert period.set_index("信访件编号").loc["B03", ["所处环节", "督办颜色", "剩余/超期"]].tolist() == ["—"] * 3
    # At a county the county column would repeat on every row: left out; the status leads.
    assert "县区" not in open_cases.columns and "乡镇（街道）" in open_cases.columns
    assert open_cases.columns[:4].tolist() == ["督办颜色", "剩余/超期", "包案领导", "已历时"]
    assert open_cases["剩余/超期"].tolist()[1:3] == ["剩余 1 天", "剩余 3 天"]
    # Selecting a row of the period's cases opens that case.
    _select_row(at, "drill_period_cases", 5)
    assert not at.exception
    assert at.title[0].value == "案件详情"
    assert at.query_params["case"] in ("B03", ["B03"])


def test_drill_link_restores_open_case_filters(app_env):
    at = _open("pages/drill.py", region=COUNTY_B, drill_colors="红色")
    assert at.multiselect(key="drill_colors").value == ["red"]
    assert _case_tables(at)[0]["信访件编号"].tolist() == ["C08"]
    at = _open("pages/drill.py", region=COUNTY_B, drill_stages="待受理")
    assert _case_tables(at)[0]["信访件编号"].tolist() == ["C08", "C07"]
    at = _open("pages/drill.py", region=COUNTY_B, drill_unit="南山")
    assert at.text_input(key="drill_unit").value == "南山"
    assert _case_tables(at)[0]["信访件编号"].tolist() == ["C06", "C05"]


def test_link_restores_period_filter_without_a_widget_warning(app_env, monkeypatch):
    warned = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda *args, **kwargs: warned.append(args))
    at = _open(**{"from": "2026-01-01", "to": "2026-03-31"})
    assert _metrics(at)["信访总量（件）"] == "4"  # C01 C02 C03 B03
    assert at.sidebar.date_input(key="filter_period").value == (D(2026, 1, 1), D(2026, 3, 31))
    assert at.query_params["to"] in ("2026-03-31", ["2026-03-31"])
    assert warned == []


# ---------------------------------------------------------------- rankings and leader pages


@pytest.fixture
def exports(monkeypatch):
    """The frames the pages hand to the Excel / CSV download, by file name."""
    seen: dict[str, pd.DataFrame] = {}
    original = widgets.download_buttons

    def record(frame, name, caption, *, key):
        seen[name] = frame.copy()
        original(frame, name, caption, key=key)

    monkeypatch.setattr(widgets, "download_buttons", record)
    return seen


def test_rankings_page_and_numeric_export(app_env, exports):
    at = _open("pages/rankings.py")
    table = _table_with(at, "名次")
    assert table["县区"].tolist() == ["乙县", "甲区"]  # timely acceptance: 100% vs 75%
    assert table["名次变化"].tolist() == ["持平", "持平"]
    assert any("名次变化对比上月末累计（2026-01-01 至 2026-05-31）" in c.value for c in at.caption)
    export = exports["排名_县区_及时受理率"]
    assert export.columns.tolist() == ["名次", "县区", "及时受理率（%）", "上月名次", "名次变化"]
    assert export["及时受理率（%）"].tolist() == [100.0, 75.0]
    assert export["名次变化"].tolist() == [0, 0]
    assert all(pd.api.types.is_numeric_dtype(export[c]) for c in ("名次", "及时受理率（%）", "上月名次", "名次变化"))


def test_rankings_link_restores_level_and_metric(app_env, exports):
    at = _open("pages/rankings.py", rank_level="乡镇（街道）", rank_metric="每万人未化解积案")
    assert (at.radio(key="rank_level").value, at.radio(key="rank_metric").value) == ("township", "backlog_per_10k")
    table = _table_with(at, "名次")
    assert table["乡镇（街道）"].tolist() == ["南山镇", "北河乡", "西门街道", "东门街道"]
    assert table["县区"].tolist() == ["乙县", "乙县", "甲区", "甲区"]
    export = exports["排名_乡镇（街道）_每万人未化解积案"]
    assert export["每万人未化解积案"].tolist() == pytest.approx([0.0, 0.2, 0.25, 0.5])


def test_leaders_page_and_link(app_env):
    board = _open("pages/leaders.py")
    shown = _metrics(board)
    assert (shown["包案领导（人）"], shown["包案积案（件）"], shown["化解率"]) == ("2", "5", "40.0%")  # B03 B04 of 5
    assert shown["有超期积案的领导（人）"] == "1"  # 赵一: B02 red
    linked = _open("pages/leaders.py", leader_regions="甲区")
    assert linked.multiselect(key="leader_regions").value == ["甲区"]
    assert _table_with(linked, "包案领导")["包案领导"].tolist() == ["赵一"]
    assert (_metrics(linked)["包案积案（件）"], _metrics(linked)["化解率"]) == ("2", "0.0%")
    by_level = _open("pages/leaders.py", leader_levels="市级")
    assert _table_with(by_level, "包案领导").empty


def test_leaders_page_lists_a_leaders_cases(app_env):
    at = _open("pages/leaders.py")
    _select_row(at, "leader_table", 1)  # 钱二 (no overdue case, second)
    assert not at.exception
    assert any(s.value == "钱二（乙县副县长）包案积案" for s in at.subheader)
    assert _case_tables(at)[0]["信访件编号"].tolist() == ["B04", "B03", "B05"]


# ---------------------------------------------------------------- links into the drill-down


def test_overview_links_lead_to_the_drill_down(app_env):
    at = _open(county=COUNTY_A)
    links = {link.proto.label: link.proto.query_string for link in at.get("page_link")}
    assert links["逐级下钻：各地区指标与案件 →"] == f"region={COUNTY_A}"
    # Top townships by unresolved backlog in 甲区: 东门 (B01), 西门 (B02).
    assert links["东门街道 1 件"] == f"region={A1}"
    assert links["西门街道 1 件"] == f"region={A2}"


def test_supervision_follow_up_row_opens_the_case(app_env):
    _update(
        app_env,
        sa.text("INSERT INTO spot_check_draws (id, created_at, created_by, scope_code, method, params, seed, "
                "n_requested, candidate_count, candidate_fingerprint, algorithm_version) VALUES "
                "(1, '2026-06-01 10:00:00', '督查室', '880100', 'simple', '{}', 's', 1, 3, 'f', 'v1')"),
        sa.text("INSERT INTO spot_check_draw_cases (draw_id, position, case_id, case_no) VALUES (1, 1, 10, 'B02')"),
        sa.text("INSERT INTO meeting_outcomes (draw_id, case_id, leader_report, rating, follow_up_due, recorded_by, "
                "recorded_at) VALUES (1, 10, '正在协调', 'needs_work', '2026-07-15', '督查室', '2026-06-01 12:00:00')"),
    )
    at = _open("pages/supervision.py")
    assert _table_with(at, "会上评价")["信访件编号"].tolist() == ["B02"]
    _select_row(at, "follow_up_table", 0)
    assert not at.exception
    assert at.title[0].value == "案件详情"
    assert at.query_params["case"] in ("B02", ["B02"])
