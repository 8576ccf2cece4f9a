"""Issue 7, the ledger round trip: free text and names keep their punctuation, what
the product exports (through the real export functions) comes back unchanged, the
formula guard is undone on import, 办理程序 travels, change events speak Chinese, a
check run reports exactly what an import does."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard import db
from dashboard.deadlines import seed_presets
from dashboard.exports import csv_bytes, excel_bytes
from dashboard.ledger import ImportResult, import_ledger, ledger_frame, read_table, rejected_csv
from dashboard.models import case_events, case_units, cases, leaders, units
from dashboard.region_import import import_region_csv
from tests import fixture_city

D = dt.date
HEADER = ["信访件编号", "登记日期", "信访形式", "办理程序", "信访人", "人数", "所属县区", "所属乡镇", "问题类别",
          "诉求摘要", "责任单位", "主管部门", "受理日期", "是否积案", "包案领导", "满意度"]
SUMMARY_1 = "反映：拖欠工资３个月，要求（尽快）解决；另询问社保。"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
MESSY = [
    # full-width digits, dates and spaces; full-width punctuation in text and names
    ["ＦＷ００１", "２０２６年３月５日", "网上信访", "简易程序", "王　五", "１２", "甲区", "东门　街道", "劳动保障",
     SUMMARY_1, "测试县住建局（人防办）", "测试市自然资源局", "2026-03-06", "否", "欧阳　明", "基本满意"],
    # text that a spreadsheet would run as a formula
    ["FW002", "2026/3/7", "来信", "", "", "", "乙县", "南山镇", "生态环境", FORMULA, "@SUM(1+1)", "", "", "是",
     "+领导", ""],
    # the same unit written with half-width brackets; a line break in the text
    ["FW003", "2026-03-08", "来访", "绿色通道", "", "3", "乙县", "北河乡", "其他", "-3 万元欠款未还\n第二行说明",
     "测试县住建局(人防办)", "", "", "否", "", "不满意"],
]


def _csv(rows, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _import(engine, data, name="ledger.csv", **kwargs) -> ImportResult:
    with engine.begin() as conn:
        return import_ledger(conn, read_table(data, name), **kwargs)


def _case(engine, number):
    with engine.connect() as conn:
        return conn.execute(sa.select(cases).where(cases.c.case_no == number)).mappings().first()


def _names(engine, table):
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table.c.id, table.c.name)).all())


def _export(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return ledger_frame(conn)  # masked, as the page exports it


def _counts(engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                     for t in (cases, units, leaders, case_events, case_units))


def test_text_and_names_keep_their_punctuation(writable_city):
    _, engine = writable_city
    result = _import(engine, _csv([HEADER, *MESSY]))
    assert (result.new, result.rejected_count) == (3, 0)
    assert result.new_units == ["测试县住建局（人防办）", "@SUM(1+1)"]  # （） and () are one unit
    assert result.new_leaders == ["欧阳 明", "+领导"]
    fw1, fw2, fw3 = (_case(engine, n) for n in ("FW001", "FW002", "FW003"))
    # codes, digits and dates folded; the full-width space became a space
    # an online case with 12 names is not a collective visit (集体访: a visit of five or more)
    assert (fw1["registered_on"], fw1["persons"], fw1["is_collective"]) == (D(2026, 3, 5), 12, False)
    assert (fw1["township_code"], fw1["petitioner_name"], fw1["track"]) == ("880102001", "王 五", "simple")
    # free text exactly as written (full-width digit and punctuation included)
    assert fw1["summary"] == SUMMARY_1
    assert fw2["summary"] == FORMULA and fw2["track"] == "general" and fw2["is_backlog"] is True
    assert fw3["summary"] == "-3 万元欠款未还\n第二行说明" and fw3["track"] == "green"
    unit_names, leader_names = _names(engine, units), _names(engine, leaders)
    assert unit_names[fw1["responsible_unit_id"]] == "测试县住建局（人防办）"
    assert fw3["responsible_unit_id"] == fw1["responsible_unit_id"]
    assert unit_names[fw2["responsible_unit_id"]] == "@SUM(1+1)"
    assert leader_names[fw2["leader_id"]] == "+领导"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_round_trip_through_the_real_export(writable_city, tmp_path, kind):
    _, engine = writable_city
    _import(engine, _csv([HEADER, *MESSY]))
    exported = _export(engine)
    assert len(exported) == 20 and "办理程序" in exported.columns
    caption = "信访事项台账 · 全市 · 2026-01-01 至 2026-06-30；来源：测试"
    data = csv_bytes(exported, caption) if kind == "csv" else excel_bytes(exported, caption)
    if kind == "csv":  # formula-like cells reach the file neutralised
        text = data.decode("utf-8-sig")
        assert text.startswith(caption + "\n")
        assert "'=HYPERLINK" in text and "'@SUM(1+1)" in text and "'+领导" in text and "'-3 万元" in text
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        summaries = [row[11] for row in sheet.iter_rows(min_row=4, values_only=True)]
        assert "'" + FORMULA in summaries
        assert all(cell.data_type == "s" for cell in sheet["L"][3:])  # text, never a formula
    before = _counts(engine)

    # into the same database: nothing changes, nothing is created
    again = _import(engine, data, f"台账.{kind}")
    assert (again.rows, again.new, again.updated, again.unchanged, again.rejected_count) == (20, 0, 0, 20, 0)
    assert (again.new_units, again.new_leaders) == ([], [])
    assert _counts(engine) == before

    # into an empty database after its regions: the same data comes back out
    fresh = db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.create_schema(fresh)
    regions_csv = [["区划代码", "名称", "层级", "上级代码"]] + [
        [r["code"], r["name"], r["level"], r["parent_code"] or ""] for r in fixture_city.REGIONS]
    with fresh.begin() as conn:
        seed_presets(conn)
        assert import_region_csv(conn, _csv(regions_csv), "regions.csv") == {"new": 7, "updated": 0}
    loaded = _import(fresh, data, f"台账.{kind}")
    assert (loaded.new, loaded.rejected_count) == (20, 0)
    assert loaded.new_units == ["东门街道办事处", "测试市自然资源局", "西门街道办事处", "南山镇人民政府",
                                "北河乡人民政府", "测试县住建局（人防办）", "@SUM(1+1)"]
    back = _export(fresh)
    fresh.dispose()
    # 办理期限 is computed by each database's rules (the fixture city's are set by hand)
    left, right = (f.drop(columns="办理期限").fillna("") for f in (exported, back))
    pd.testing.assert_frame_equal(left, right)


def test_product_export_reimport_keeps_unit_names_exact(writable_city):
    """The audit's case: `临江县住建局（人防办）` must not turn into a second unit."""
    _, engine = writable_city
    with engine.begin() as conn:
        conn.execute(units.insert().values(id=6, name="临江县住建局（人防办）", kind="bureau", region_code=None))
        conn.execute(cases.update().where(cases.c.case_no == "C05").values(
            responsible_unit_id=6, summary="反映：小区（二期）人防工程，占用车位；要求整改。"))
    data = csv_bytes(_export(engine), "信访事项台账")
    result = _import(engine, data)
    assert (result.updated, result.unchanged, result.new_units) == (0, 17, [])
    assert len(_names(engine, units)) == 6


def test_track_travels_and_an_absent_column_keeps_what_is_known(writable_city):
    _, engine = writable_city
    _import(engine, _csv([HEADER, *MESSY]))
    exported = _export(engine)
    assert exported.set_index("信访件编号").loc[["FW001", "FW002", "FW003"], "办理程序"].tolist() == [
        "简易程序", "一般程序", "绿色通道"]
    # a ledger without 办理程序, 包案领导 or 满意度 columns changes none of them
    short = exported.drop(columns=["办理程序", "包案领导", "满意度"])
    result = _import(engine, csv_bytes(short, "台账"))
    assert (result.updated, result.unchanged) == (0, 20)
    fw1 = _case(engine, "FW001")
    assert (fw1["track"], fw1["satisfaction"]) == ("simple", "basic") and fw1["leader_id"] is not None
    # an empty 办理程序 cell keeps the track; a new value changes it
    rows = [HEADER, [*MESSY[0][:3], "", *MESSY[0][4:]], [*MESSY[2][:3], "一般程序", *MESSY[2][4:]]]
    result = _import(engine, _csv(rows))
    assert (result.updated, result.unchanged) == (1, 1)
    assert (_case(engine, "FW001")["track"], _case(engine, "FW003")["track"]) == ("simple", "general")


def test_change_events_name_labels_and_people_not_codes(writable_city, monkeypatch):
    _, engine = writable_city
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-11-20")
    exported = _export(engine)
    row = exported["信访件编号"] == "C03"
    exported.loc[row, ["满意度", "包案领导", "信访形式", "所属乡镇", "受理日期"]] = [
        "不满意", "赵一", "领导信箱", "东门街道", D(2026, 3, 4)]
    result = _import(engine, csv_bytes(exported, "台账"))
    assert (result.updated, result.unchanged) == (1, 16)
    with engine.connect() as conn:
        event = conn.execute(sa.select(case_events).where(case_events.c.kind == "updated")).mappings().one()
    assert event["note"] == ("台账导入更新：信访形式：网上信访→领导信箱；所属乡镇：西门街道→东门街道；"
                             "受理日期：2026-03-03→2026-03-04；满意度：空→不满意；包案领导：空→赵一")
    assert event["at"].date() == D(2026, 11, 20)  # DASHBOARD_TODAY pins the business date


def test_check_run_reports_exactly_what_the_import_does(writable_city):
    _, engine = writable_city
    exported = _export(engine).set_index("信访件编号")
    changed = exported.loc[["C01", "C03"]].reset_index()
    changed.loc[1, "满意度"] = "满意"  # C03 updated, C01 unchanged
    new = {**{c: "" for c in changed.columns}, "信访件编号": "D01", "登记日期": "2026-06-01", "信访形式": "来信",
           "所属县区": "甲区", "问题类别": "教育", "责任单位": "新设的教育督导室", "包案领导": "新来的领导"}
    refused = {**new, "信访件编号": "D02", "登记日期": "昨天"}
    frame = pd.concat([changed, pd.DataFrame([new, refused])], ignore_index=True)
    data = csv_bytes(frame, "台账")
    before = _counts(engine)
    check = _import(engine, data, dry_run=True)
    assert _counts(engine) == before  # nothing written, nothing created
    assert (check.new, check.updated, check.unchanged, check.rejected_count) == (1, 1, 1, 1)
    assert (check.new_units, check.new_leaders) == (["新设的教育督导室"], ["新来的领导"])
    real = _import(engine, data)
    assert {**check.as_dict(), "dry_run": False} == real.as_dict()
    assert _counts(engine)[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_rejected_file_is_neutralised_and_can_be_fixed_and_reimported(writable_city):
    _, engine = writable_city
    rows = [HEADER, ["FX01", "2026-13-01", "来信", "", "", "", "甲区", "", "劳动保障", "=1+2", "@单位", "", "",
                     "否", "-领导", ""]]
    result = _import(engine, _csv(rows))
    assert result.rejected_count == 1
    text = rejected_csv(result).decode("utf-8-sig")
    assert "'=1+2" in text and "'@单位" in text and "'-领导" in text and ",=1+2" not in text
    fixed = text.replace("2026-13-01", "2026-03-01")
    again = _import(engine, fixed.encode("utf-8"), "fixed.csv")
    assert (again.new, again.rejected_count, again.new_units, again.new_leaders) == (1, 0, ["@单位"], ["-领导"])
    assert _case(engine, "FX01")["summary"] == "=1+2"


def test_only_apostrophes_before_formula_characters_are_removed(writable_city):
    _, engine = writable_city
    rows = [HEADER, ["FA01", "2026-03-01", "来信", "", "", "", "甲区", "", "劳动保障", "'好的' 他说", "'=A1", "",
                     "", "否", "''+领导", ""]]
    _import(engine, _csv(rows))
    case = _case(engine, "FA01")
    assert case["summary"] == "'好的' 他说"
    assert _names(engine, units)[case["responsible_unit_id"]] == "=A1"
    assert _names(engine, leaders)[case["leader_id"]] == "''+领导"  # only one apostrophe was added


def test_semicolons_and_commas_in_text_do_not_fool_the_csv_reader(writable_city):
    _, engine = writable_city
    text = "\n".join([
        "某某市信访事项台账；2026年",
        "信访件编号,登记日期,信访形式,所属县区,问题类别,诉求摘要",
        'S01,2026-03-01,来信,甲区,教育,"学校收费; 要求退费, 共 3 项"',
        "S02,2026-03-02,来信,乙县,教育,一; 二; 三",
    ])
    result = _import(engine, text.encode("utf-8"))
    assert (result.new, result.rejected_count) == (2, 0)
    assert _case(engine, "S01")["summary"] == "学校收费; 要求退费, 共 3 项"


def test_escalation_yes_is_asked_for_province_or_beijing(writable_city):
    _, engine = writable_city
    rows = [["信访件编号", "登记日期", "信访形式", "所属县区", "所属乡镇", "问题类别", "是否越级"],
            ["E01", "2026-03-01", "来访", "甲区", "西门 街道", "教育", "是"],
            ["E02", "2026-03-01", "来访", "甲区", "西门街道", "教育", "否"],
            ["E03", "2026-03-01", "来访", "甲区", "", "教育", "进京"]]
    result = _import(engine, _csv(rows))
    assert (result.new, result.rejected_count) == (2, 1)
    (rejection,) = result.rejected
    assert (rejection.row, rejection.column, rejection.value) == (2, "越级情况", "是")
    assert "赴省 或 进京" in rejection.reason
    assert _case(engine, "E02")["escalation"] == "none" and _case(engine, "E03")["escalation"] == "beijing"
    assert _case(engine, "E02")["township_code"] == "880102002"


def test_dry_run_and_import_on_postgresql(postgres_url):
    """The check run's savepoint and the upsert on the production database."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = "ledger_" + dt.datetime.now().strftime("%H%M%S%f")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_url).set(database=name)
    engine = db.make_engine(url.render_as_string(hide_password=False))
    try:
        fixture_city.build(engine)
        data = _csv([HEADER, *MESSY])
        before = _counts(engine)
        check = _import(engine, data, dry_run=True)
        assert _counts(engine) == before and check.new == 3
        real = _import(engine, data)
        assert {**check.as_dict(), "dry_run": False} == real.as_dict()
        again = _import(engine, csv_bytes(_export(engine), "台账"))
        assert (again.updated, again.unchanged) == (0, 20)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
