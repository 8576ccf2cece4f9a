"""Issue 7: ledgers as bureaus really send them, validated row by row; regions and
boundaries; exports that round-trip."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
import sqlalchemy as sa

from dashboard.ledger import (
    LedgerError,
    find_header,
    import_ledger,
    ledger_frame,
    load_mapping,
    mapping_toml,
    parse_date,
    read_table,
)
from dashboard.models import case_events, cases, regions
from dashboard.region_import import import_boundaries, import_region_csv
from entrypoints.cli import main

D = dt.date
HEADER = ["信访件编号", "登记日期", "信访形式", "信访人", "人数", "所属县区", "所属乡镇", "问题类别", "诉求摘要",
          "责任单位", "受理日期", "答复日期", "办结日期", "是否化解", "满意度", "是否积案", "包案领导"]
GOOD = [
    ["N001", "2026/3/5", "网上信访", "王五", "１", "甲区", "东门街道", "劳动保障", "欠薪", "东门街道办事处",
     "2026年3月6日", "2026.4.1", "2026-04-01", "是", "满意", "否", ""],
    ["N002", 46090, "来访", "赵六", "6", "880121", "北河乡", "自然资源", "征地补偿", "新设的测试局",
     "2026-03-11", "", "", "否", "", "是", "孙新领导"],
    ["  N003 ", "20260320", "来信", "钱七", "", "乙县", "南山镇", "生态环境", " 噪声 ", "南山镇人民政府",
     "", "", "", "否", "未评价", "否", ""],
]


def _csv(rows, encoding="gbk") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx(rows, title="测试市信访事项台账") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append([])
    for row in rows:
        sheet.append(row)
    sheet.append([])
    sheet.append([None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _import(engine, data, name="ledger.csv", **kwargs):
    with engine.begin() as conn:
        return import_ledger(conn, read_table(data, name), **kwargs)


def _case(engine, number):
    with engine.connect() as conn:
        return conn.execute(sa.select(cases).where(cases.c.case_no == number)).mappings().first()


def _count(engine, table=cases):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


@pytest.mark.parametrize("text,expected", [
    ("2021-03-05", D(2021, 3, 5)), ("2021/3/5", D(2021, 3, 5)), ("2021.3.5", D(2021, 3, 5)),
    ("2021年3月5日", D(2021, 3, 5)), ("２０２１年３月５日", D(2021, 3, 5)), (44260, D(2021, 3, 5)),
    ("44260", D(2021, 3, 5)), ("20210305", D(2021, 3, 5)), (dt.datetime(2021, 3, 5, 9, 30), D(2021, 3, 5)),
    ("2021-03-05 09:30:00", D(2021, 3, 5)), ("", None), (None, None),
])
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_gbk_csv_with_messy_values(writable_city):
    _, engine = writable_city
    before = _count(engine)
    result = _import(engine, _csv([HEADER, *GOOD]))
    assert (result.rows, result.new, result.updated, result.rejected_count) == (3, 3, 0, 0)
    assert result.new_units == ["新设的测试局"] and result.new_leaders == ["孙新领导"]
    assert _count(engine) == before + 3
    n1, n2, n3 = (_case(engine, n) for n in ("N001", "N002", "N003"))
    assert (n1["registered_on"], n1["accepted_on"], n1["closed_on"]) == (D(2026, 3, 5), D(2026, 3, 6), D(2026, 4, 1))
    assert (n1["channel"], n1["domain"], n1["satisfaction"], n1["resolved"]) == ("online", "labor", "satisfied", True)
    assert (n1["county_code"], n1["township_code"], n1["persons"]) == ("880102", "880102001", 1)
    assert (n2["registered_on"], n2["county_code"], n2["is_backlog"], n2["is_collective"]) == (
        D(2026, 3, 9), "880121", True, True)  # Excel serial 46090 (2026-01-01 is 46023)
    assert (n3["case_no"], n3["summary"], n3["satisfaction"]) == ("N003", "噪声", None)
    # deadlines are computed, not read: 5 Mar + 15 days = Fri 20 Mar
    assert n1["acceptance_due"] == D(2026, 3, 20) and n1["preset"] == "national"


def test_xlsx_with_title_rows_and_reimport_is_idempotent(writable_city):
    _, engine = writable_city
    data = _xlsx([HEADER, *GOOD])
    first = _import(engine, data, "台账.xlsx")
    events = _count(engine, case_events)
    again = _import(engine, data, "台账.xlsx")
    assert (first.new, again.new, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert _count(engine, case_events) == events


def test_changed_row_updates_and_records_what_changed(writable_city):
    _, engine = writable_city
    _import(engine, _csv([HEADER, *GOOD]))
    changed = [list(r) for r in GOOD]
    changed[1][12] = "2026-04-20"  # 办结日期
    changed[1][3] = "赵六六"  # personal data: recorded as changed, value not written in the note
    result = _import(engine, _csv([HEADER, *changed]))
    assert (result.updated, result.unchanged) == (1, 2)
    assert _case(engine, "N002")["closed_on"] == D(2026, 4, 20)
    with engine.connect() as conn:
        note = conn.execute(sa.select(case_events.c.note).where(case_events.c.kind == "updated")).scalar()
    assert "办结日期：空→2026-04-20" in note and "信访人已更新" in note and "赵六" not in note


def test_row_problems_are_listed_and_the_rest_imported(writable_city):
    _, engine = writable_city
    rows = [HEADER, *GOOD,
            ["N004", "2026-03-05", "网上信访", "", "", "甲区", "东门街", "劳动保障", "", "", "", "", "", "否", "", "否", ""],
            ["N001", "2026-03-07", "来信", "", "", "甲区", "", "劳动保障", "", "", "", "", "", "否", "", "否", ""],
            ["N005", "2026-03-05", "来信", "", "", "甲区", "", "劳动保障", "", "", "2026-03-06", "2026-03-01", "", "否",
             "", "否", ""],
            ["N006", "2026-13-45", "飞鸽传书", "", "", "丙县", "", "", "", "", "", "", "", "也许", "", "否", ""]]
    result = _import(engine, _csv(rows))
    assert (result.new, result.rejected_count) == (3, 4)
    reasons = {(r.row, r.column): r.reason for r in result.rejected}
    assert "是否为：东门街道" in reasons[(5, "所属乡镇")]
    assert reasons[(6, "信访件编号")] == "与第 2 行编号重复，已保留第 2 行"
    assert reasons[(7, "答复日期")] == "答复日期早于登记日期"
    assert {(8, c) for c in ("登记日期", "信访形式", "所属县区", "问题类别", "是否化解")} <= set(reasons)
    assert [r["原行号"] for r in result.rejected_rows] == [5, 6, 7, 8]
    assert _case(engine, "N004") is None and _case(engine, "N001")["registered_on"] == D(2026, 3, 5)


def test_township_name_in_two_counties_is_matched_with_the_county(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        conn.execute(regions.insert().values(code="880121003", name="东门街道", level="township", parent_code="880121"))
    row = ["N010", "2026-03-05", "来信", "", "", "乙县", "东门街道", "劳动保障", "", "", "", "", "", "否", "", "否", ""]
    assert _import(engine, _csv([HEADER, row])).new == 1
    assert _case(engine, "N010")["township_code"] == "880121003"
    no_county = [HEADER[:5] + HEADER[6:], row[:5] + row[6:]]  # without 所属县区 the column is missing
    with pytest.raises(LedgerError, match="所属县区"):
        _import(engine, _csv(no_county))


@pytest.mark.parametrize("data,name,message", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "台账.xlsx", "不是表格文件"),
    (b"", "empty.csv", "空文件"),
    ("标题\n信访件编号,登记日期,问题类别\nA1,2026-01-01,劳动保障\n".encode(), "x.csv", "缺少必需的列：信访形式、所属县区"),
    ("只是一段话\n没有表头\n".encode(), "x.csv", "找不到表头行"),
    (b"PK\x03\x04broken", "x.xlsx", "无法作为 Excel 文件打开"),
])
def test_fatal_input_changes_nothing(writable_city, data, name, message):
    _, engine = writable_city
    before = _count(engine)
    with pytest.raises(LedgerError, match=message):
        _import(engine, data, name)
    assert _count(engine) == before


def test_failure_mid_import_rolls_back(writable_city, monkeypatch):
    import dashboard.summaries

    _, engine = writable_city
    before = _count(engine)

    def broken(*args, **kwargs):  # after the new cases and their events are written
        raise RuntimeError("disk full")

    monkeypatch.setattr(dashboard.summaries, "refresh_cases", broken)
    with pytest.raises(RuntimeError):
        _import(engine, _csv([HEADER, *GOOD]))
    assert _count(engine) == before and _case(engine, "N001") is None


def test_mapping_file(writable_city, tmp_path):
    _, engine = writable_city
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"流水号" = "case_no"\n"收件日" = "registered_on"\n', encoding="utf-8")
    rows = [["流水号", "收件日", *HEADER[2:]], *GOOD]
    result = _import(engine, _csv(rows), mapping=load_mapping(mapping))
    assert result.new == 3
    (tmp_path / "bad.yaml").write_text("columns:\n  流水号: number\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="未知字段"):
        load_mapping(tmp_path / "bad.yaml")


def test_export_round_trip(writable_city):
    _, engine = writable_city
    with engine.connect() as conn:
        exported = ledger_frame(conn)
    buffer = io.BytesIO()
    with __import__("pandas").ExcelWriter(buffer, engine="openpyxl") as writer:
        exported.to_excel(writer, index=False, startrow=2)
    result = _import(engine, buffer.getvalue(), "export.xlsx")
    assert (result.rows, result.new, result.updated, result.rejected_count) == (17, 0, 0, 0)
    assert result.unchanged == 17


def test_cli_exit_codes(writable_city, tmp_path, capsys, monkeypatch):
    url, engine = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    good = tmp_path / "good.csv"
    good.write_bytes(_csv([HEADER, *GOOD]))
    assert main(["import", "--user", "bureau", str(good), "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 3 and _case(engine, "N001") is None
    assert main(["import", "--user", "bureau", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv([HEADER, GOOD[0], ["N009", "昨天", "来信", "", "", "甲区", "", "劳动保障"]]))
    assert main(["import", "--user", "bureau", str(bad), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["rejected"] == 1 and payload["unchanged"] == 1
    assert "拒绝原因" in (tmp_path / "bad.rejected.csv").read_text(encoding="utf-8-sig")
    png = tmp_path / "photo.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n....")
    assert main(["import", "--user", "bureau", str(png)]) == 2
    assert "不是表格文件" in capsys.readouterr().err


def test_regions_and_boundaries(writable_city):
    _, engine = writable_city
    csv_rows = "区划代码,名称,层级,上级代码,经度,纬度,人口\n880121009,新城街道,乡镇,880121,110.2,30.2,30000\n880102,甲区,县区,880100,,,150000\n"
    with engine.begin() as conn:
        assert import_region_csv(conn, csv_rows.encode("utf-8"), "r.csv") == {"new": 1, "updated": 1}
    bad = "code,name,level,parent_code\n88012,短码,county,880100\n880121010,孤儿,township,889999\n"
    with pytest.raises(LedgerError, match="2 处问题"), engine.begin() as conn:
        import_region_csv(conn, bad.encode(), "bad.csv")
    square = [[110.2, 30.2], [110.3, 30.2], [110.3, 30.3], [110.2, 30.3], [110.2, 30.2]]
    bowtie = [[110.0, 30.0], [110.1, 30.1], [110.1, 30.0], [110.0, 30.1], [110.0, 30.0]]
    good = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "新城街道"}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}
    with engine.begin() as conn:
        assert import_boundaries(conn, json.dumps(good).encode(), "b.geojson") == {"boundaries": 1}
        row = conn.execute(sa.select(regions).where(regions.c.code == "880121009")).mappings().one()
    assert json.loads(row["boundary"])["type"] == "Polygon" and row["lon"] == pytest.approx(110.25)
    invalid = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "880102001"}, "geometry": {"type": "Polygon", "coordinates": [bowtie]}}]}
    with pytest.raises(LedgerError, match="几何无效"), engine.begin() as conn:
        import_boundaries(conn, json.dumps(invalid).encode(), "bad.geojson")


def test_masked_export_keeps_personal_data_on_reimport(writable_city):
    _, engine = writable_city
    _import(engine, _csv([HEADER, *GOOD]))
    with engine.connect() as conn:
        exported = ledger_frame(conn)
    row = exported[exported["信访件编号"] == "N001"].iloc[0]
    assert row["信访人"] == "王*"
    buffer = io.BytesIO()
    exported.to_excel(buffer, index=False)
    assert _import(engine, buffer.getvalue(), "back.xlsx").updated == 0
    assert _case(engine, "N001")["petitioner_name"] == "王五"


def test_size_limit_is_configurable(monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_MB", "0.001")  # about 1 KB
    with pytest.raises(LedgerError, match="超过 0 MB 上限|超过"):
        read_table(_csv([HEADER, *GOOD] * 20), "big.csv")


def test_user_mapping_overrides_detection_and_keeps_blank_header_columns(writable_city, tmp_path):
    _, engine = writable_city
    rows = [["某某县台账"],
            ["信访件编号", "登记日期", "信访形式", "所属县区", "问题类别", "诉求摘要", None],
            ["M01", "2026-03-05", "来信", "甲区", "劳动保障", "不要导入这一列", "赵一"]]
    # the page: exactly the columns the user chose (诉求摘要 set to （不导入）, the blank one to 包案领导)
    chosen = {0: "case_no", 1: "registered_on", 2: "channel", 3: "county", 4: "domain", 6: "leader"}
    with engine.begin() as conn:
        result = import_ledger(conn, rows, header_row=1, columns=chosen)
    assert (result.new, result.new_leaders) == (1, [])
    assert (_case(engine, "M01")["summary"], _case(engine, "M01")["leader_id"]) == (None, 1)
    # the same choice saved as a mapping file and used from the command line
    saved = tmp_path / "map.toml"
    saved.write_text(mapping_toml({"信访件编号": "case_no", "诉求摘要": "", "第7列": "leader"}), encoding="utf-8")
    mapping = load_mapping(saved)
    assert mapping == {"信访件编号": "case_no", "诉求摘要": "", "第7列": "leader"}
    assert find_header(rows, mapping) == (1, {0: "case_no", 1: "registered_on", 2: "channel", 3: "county",
                                              4: "domain", 6: "leader"})
    rows[2][0] = "M02"
    assert _import(engine, _csv(rows), mapping=mapping).new == 1
    assert (_case(engine, "M02")["summary"], _case(engine, "M02")["leader_id"]) == (None, 1)
    with pytest.raises(LedgerError, match="信访件编号 被指定给了多列"), engine.begin() as conn:
        import_ledger(conn, rows, header_row=1, columns={**chosen, 5: "case_no"})


@pytest.mark.parametrize("name,text,where", [
    ("broken.toml", '[columns\n"流水号" = "case_no"\n', "第 1 行附近"),
    ("broken.toml", '[columns]\n"流水号" = case_no\n', "第 2 行附近"),
    ("broken.yaml", "columns:\n  流水号: [case_no\n  收件日: registered_on\n", "第 3 行附近"),
    ("list.yaml", "- 流水号\n- 收件日\n", "对照表"),
])
def test_malformed_mapping_file_is_bad_input(writable_city, tmp_path, capsys, monkeypatch, name, text, where):
    url, engine = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    mapping = tmp_path / name
    mapping.write_text(text, encoding="utf-8")
    with pytest.raises(LedgerError, match=where):
        load_mapping(mapping)
    good = tmp_path / "good.csv"
    good.write_bytes(_csv([HEADER, *GOOD]))
    assert main(["import", "--user", "bureau", str(good), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert "列名对照文件" in err and "Traceback" not in err
    assert main(["import", "--user", "bureau", str(good), "--mapping", str(mapping), "--json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["exit_code"] == 2 and "列名对照文件" in payload["error"]
    assert _case(engine, "N001") is None


def test_header_without_data_rows_is_fatal(writable_city, tmp_path, capsys, monkeypatch):
    url, engine = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(LedgerError, match="没有数据行"):
        _import(engine, _csv([["某某市台账"], HEADER, [], ["", " "]]))
    empty = tmp_path / "header.xlsx"
    empty.write_bytes(_xlsx([HEADER]))
    assert main(["import", "--user", "bureau", str(empty), "--json"]) == 2
    out, err = capsys.readouterr()
    assert "没有数据行" in json.loads(out)["error"] and "没有数据行" in err


def test_json_errors_of_import_go_to_stdout_and_stderr(writable_city, tmp_path, capfd, monkeypatch):
    url, _ = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    png = tmp_path / "photo.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n....")
    assert main(["import", "--user", "bureau", str(png), "--json"]) == 2
    out, err = capfd.readouterr()
    assert json.loads(out) == {"error": json.loads(out)["error"], "exit_code": 2}
    assert "不是表格文件" in json.loads(out)["error"] and "错误：" in err and "不是表格文件" in err
    assert main(["import", "--user", "bureau", str(tmp_path / "missing.csv"), "--json"]) == 2
    assert "找不到文件" in json.loads(capfd.readouterr().out)["error"]
