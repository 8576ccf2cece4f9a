"""The monthly bulletin: the .docx read back with python-docx; its figures equal
`kpi --json` for the month; A4, Chinese fonts, charts, no petitioner's data; the
new commands (warn, sensitive, forecast, bulletin) and the new kpi keys."""

from __future__ import annotations

import json

import docx
import pytest
from docx.oxml.ns import qn

from entrypoints.cli import main
from tests.fixture_city import COUNTY_A


def _kpi(capsys, *extra) -> dict:
    assert main(["kpi", "--from", "2026-06-01", "--to", "2026-06-30", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"


@pytest.fixture
def bulletin(city_env, capsys, tmp_path):
    out = tmp_path / "通报.docx"
    assert main(["bulletin", "--month", "2026-06", "--out", str(out), "--user", "bureau", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    return docx.Document(str(out)), payload


def test_the_figures_equal_kpi_json(bulletin, capsys):
    document, payload = bulletin
    kpi = _kpi(capsys)
    figures = {row.cells[0].text: (row.cells[1].text, row.cells[2].text) for row in document.tables[0].rows[1:]}
    assert figures["信访总量（件）"][0] == str(kpi["total"])
    for name, key in (("网上信访占比", "online_share"), ("及时受理率", "timely_acceptance_rate"),
                      ("按期办结率", "on_time_closure_rate"), ("参评率", "evaluation_rate"),
                      ("满意率", "satisfaction_rate"), ("积案化解率", "backlog_resolution_rate"),
                      ("首办化解率", "first_resolution_rate"), ("重复信访率", "repeat_rate")):
        assert figures[name][0] == _percent(kpi[key]), name
    for name, key in (("积案总数（件）", "backlog_total"), ("已化解积案（件）", "backlog_resolved"),
                      ("集体访（批）", "collective_batches"), ("集体访（人次）", "collective_persons"),
                      ("赴省访（批）", "escalated_province_batches"), ("进京访（批）", "escalated_beijing_batches")):
        assert figures[name][0] == str(kpi[key]), name
    assert figures["平均办理天数"][0] == ("—" if kpi["average_handling_days"] is None
                                     else f"{kpi['average_handling_days']:.2f}")
    # the previous month's column equals kpi for May
    assert main(["kpi", "--from", "2026-05-01", "--to", "2026-05-31", "--json"]) == 0
    may = json.loads(capsys.readouterr().out)
    assert figures["信访总量（件）"][1] == str(may["total"])
    # the summary paragraph states the same total, and the command's JSON carries kpi's figures
    text = "\n".join(p.text for p in document.paragraphs)
    assert f"共登记信访事项 {kpi['total']} 件" in text
    assert {k: v for k, v in kpi.items() if k != "colors"} == payload["figures"]


def test_form_a4_fonts_rankings_charts_and_no_personal_data(bulletin, city_env):
    document, _ = bulletin
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "测试市信访工作月度通报" in text and "统计期间：2026年6月1日至2026年6月30日" in text
    east_asian = {r._element.rPr.rFonts.get(qn("w:eastAsia")) for p in document.paragraphs for r in p.runs
                  if r.text}
    assert {"仿宋", "宋体", "黑体"} <= east_asian
    # the county ranking table: both counties, each of the five indicators with rank and change
    ranking = next(t for t in document.tables if t.rows[0].cells[0].text == "县区")
    assert {row.cells[0].text for row in ranking.rows[1:]} == {"甲区", "乙县"}
    assert [c.text for c in ranking.rows[0].cells[1:]] == ["及时受理率", "按期办结率", "积案化解率", "满意率",
                                                          "每万人未化解积案"]
    assert len(document.inline_shapes) >= 2  # the charts
    everything = text + "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "测试人" not in everything  # every fixture case's petitioner is 测试人
    assert "诉求摘要" not in everything


def test_bad_months_are_refused_clearly(city_env, capsys, tmp_path):
    assert main(["bulletin", "--month", "2026-13", "--out", str(tmp_path / "x.docx"), "--user", "bureau"]) == 2
    assert "月份格式不对" in capsys.readouterr().err
    assert main(["bulletin", "--month", "2026-07", "--out", str(tmp_path / "x.docx"), "--user", "bureau"]) == 2
    assert "还没到" in capsys.readouterr().err
    assert not (tmp_path / "x.docx").exists()


def test_a_county_bulletin_and_kpi_of_the_county(city_env, capsys, tmp_path):
    out = tmp_path / "甲区.docx"
    assert main(["bulletin", "--month", "2026-06", "--out", str(out), "--user", "county_a", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["region"] == COUNTY_A
    kpi = _kpi(capsys, "--user", "county_a")
    assert payload["figures"]["total"] == kpi["total"]
    text = "\n".join(c.text for t in docx.Document(str(out)).tables for row in t.rows for c in row.cells)
    assert "乙县" not in text and "南山镇" not in text and "北河乡" not in text


def test_kpi_json_keeps_its_keys_and_adds_the_new_indicators(city_env, capsys):
    kpi = _kpi(capsys)
    assert {"total", "yoy", "online_share", "timely_acceptance_rate", "collective_batches", "colors"} <= set(kpi)
    assert {"average_handling_days", "first_petitions_closed", "first_petitions_resolved", "first_resolution_rate",
            "repeat_count", "repeat_rate"} <= set(kpi)


def test_warn_forecast_and_sensitive_commands(city_env, capsys):
    assert main(["warn", "--json"]) == 0  # the console previews (no surge in the fixture: none)
    payload = json.loads(capsys.readouterr().out)
    assert payload["date"] == "2026-06-30" and payload["warnings"] == []
    assert main(["warn", "--json", "--user", "bureau"]) == 0
    assert json.loads(capsys.readouterr().out)["raised_now"] == 0
    assert main(["sensitive", "add", "--name", "两会", "--from", "2026-06-29", "--to", "2026-07-03"]) == 3
    capsys.readouterr()
    assert main(["sensitive", "add", "--name", "两会", "--from", "2026-06-29", "--to", "2026-07-03",
                 "--user", "bureau"]) == 0
    capsys.readouterr()
    assert main(["sensitive", "list", "--json", "--user", "admin"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["name"], p["current"]) for p in listed] == [("两会", True)]
    assert main(["warn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sensitive_periods"] == ["两会"]
    assert main(["forecast", "--json", "--user", "county_a"]) == 0
    forecast = json.loads(capsys.readouterr().out)
    assert forecast["region"]["region"] == COUNTY_A
    assert set(forecast["counties"][0]) >= {"unresolved", "weekly_pace", "projected_zero_date", "low", "high",
                                            "target_date", "on_track"}
    assert main(["forecast", "--json", "--user", "city_user"]) == 0
    assert len(json.loads(capsys.readouterr().out)["counties"]) == 2
