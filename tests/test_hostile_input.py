"""Issue 12: hostile files, crafted links and careless ledgers. One test (or a few) per
numbered finding not covered elsewhere (finding 2, draw integrity: tests/test_draw_integrity.py).
Bomb files are generated here, streamed so that the test itself stays cheap; the bombs
are imported in a subprocess whose address space is capped with `resource`."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard import db
from dashboard.ledger import (
    LedgerError,
    find_header,
    import_ledger,
    load_mapping,
    load_values,
    mapping_toml,
    read_table,
    rejected_csv,
    unknown_words,
)
from dashboard.models import cases
from entrypoints.cli import main
from pages.markup import plain
from tests.signin import as_user

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
HEADER = ["信访件编号", "登记日期", "信访形式", "信访人", "联系电话", "身份证号", "人数", "所属县区", "问题类别"]
NAME, PHONE, ID_NO = "王小明", "13812345678", "110101199001011234"
MASKED = ("王**", "138****5678", "110*************34")


def _row(number, registered="2026-03-05", persons="1", channel="来信"):
    return [number, registered, channel, NAME, PHONE, ID_NO, persons, "甲区", "劳动保障"]


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _case(engine, number):
    with engine.connect() as conn:
        return conn.execute(sa.select(cases).where(cases.c.case_no == number)).mappings().first()


def _import(engine, data: bytes, name="ledger.csv", **options):
    with engine.begin() as conn:
        return import_ledger(conn, read_table(data, name), **options)


# ---------------------------------------------------------------- 1. bombs, bounded reading

SHEET = "xl/worksheets/sheet1.xml"
XML_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')


def _with_sheet(path: Path, write_sheet, level: int = 1) -> Path:
    """A real workbook whose first sheet's XML is written by `write_sheet(stream)`."""
    source = zipfile.ZipFile(io.BytesIO(_xlsx([HEADER, _row("B001")])))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for part in source.infolist():
            if part.filename != SHEET:
                target.writestr(part, source.read(part.filename))
        with target.open(SHEET, "w", force_zip64=True) as stream:
            write_sheet(stream, source.read(SHEET))
    return path


def _dimension_bomb(path: Path) -> Path:
    """About 200 KB: a header, one row and 100,000 empty rows under a declared dimension
    of 16,384 × 200,000 cells (a reader that trusts it makes every row 16,384 wide)."""
    empty = b"".join(b'<row r="%d"/>' % i for i in range(3, 100_003))
    return _with_sheet(path, lambda stream, xml: stream.write(
        re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD200000"/>', xml)
        .replace(b"</sheetData>", empty + b"</sheetData>")), level=9)


def _zip_bomb(path: Path, megabytes: int) -> Path:
    """Highly compressible rows, `megabytes` unpacked, written a megabyte at a time."""
    chunk = b"<row><c><v>1</v></c></row>" * 40_000  # about 1 MB

    def write(stream, _xml):
        stream.write(XML_HEAD.encode())
        for _ in range(megabytes * 1024 * 1024 // len(chunk)):
            stream.write(chunk)
        stream.write(b"</sheetData></worksheet>")

    return _with_sheet(path, write)


BOUNDED = """
import json, resource, sys, time
from entrypoints.cli import main  # every library loaded before the cap
import openpyxl, pandas, xlrd  # noqa
size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
cap = size + 400 * 1024 * 1024  # the import may use 400 MB more than the loaded program
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = time.perf_counter()
code = main(["import", "--user", "bureau", sys.argv[1], "--json", "--dry-run"])
print(json.dumps({"exit": code, "seconds": round(time.perf_counter() - start, 2),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), file=sys.stderr)
"""


def _bounded_import(path: Path, url: str) -> tuple[dict, dict]:
    """(CLI JSON, figures) of `import --dry-run --json` in a subprocess whose address
    space is capped at 400 MB above the loaded program."""
    env = {**os.environ, "DATABASE_URL": url, "DASHBOARD_TODAY": "2026-06-30", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", BOUNDED, str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    print(path.name, figures)  # measured figures, shown with pytest -s
    return json.loads(done.stdout), figures


def test_a_declared_dimension_is_not_trusted(writable_city, tmp_path):
    url, _ = writable_city
    bomb = _dimension_bomb(tmp_path / "dimension.xlsx")
    assert bomb.stat().st_size < 300_000  # on the code before issue 12: MemoryError
    payload, figures = _bounded_import(bomb, url)
    assert figures["exit"] == 0 and figures["seconds"] < 10
    assert (payload["rows"], payload["new"], payload["rejected"]) == (1, 1, 0)


def test_a_zip_bomb_is_refused_before_unpacking(writable_city, tmp_path):
    url, _ = writable_city
    bomb = _zip_bomb(tmp_path / "bomb.xlsx", 600)
    assert bomb.stat().st_size < 8 * 1024 * 1024
    payload, figures = _bounded_import(bomb, url)
    assert figures["exit"] == 2 and figures["seconds"] < 5
    assert payload["exit_code"] == 2 and re.search(r"解压后共 \d{3}(\.\d)? MB，超过 500 MB 上限", payload["error"])


def test_a_part_packed_too_tightly_is_refused(tmp_path):
    bomb = _zip_bomb(tmp_path / "ratio.xlsx", 20)
    with pytest.raises(LedgerError, match="压缩比异常.*超过 100 倍"):
        read_table(bomb.read_bytes(), "ratio.xlsx")


def test_rows_and_columns_are_counted_while_reading(monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_ROWS", "1000")
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER)
    workbook.active.cell(row=5000, column=1, value="far below")  # one cell, no rows in between
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(LedgerError, match="超过 1,000 行的上限"):
        read_table(buffer.getvalue(), "rows.xlsx")
    with pytest.raises(LedgerError, match="超过 1,000 行的上限"):
        read_table(_csv([HEADER, *[_row(f"R{i}") for i in range(1001)]]), "rows.csv")
    wide = openpyxl.Workbook()
    wide.active.append(HEADER)
    wide.active.cell(row=2, column=300, value="far right")
    buffer = io.BytesIO()
    wide.save(buffer)
    with pytest.raises(LedgerError, match="第 2 行第 300 列有内容，超过 200 列的上限"):
        read_table(buffer.getvalue(), "wide.xlsx")


def test_the_command_line_checks_the_size_before_reading(city_env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_MB", "0.001")
    big = tmp_path / "big.csv"
    big.write_bytes(_csv([HEADER, *[_row(f"S{i}") for i in range(100)]]))
    assert main(["import", "--user", "bureau", str(big), "--json"]) == 2
    assert "大小 8 KB，超过 1 KB 上限。请拆分后分批导入。" in json.loads(capsys.readouterr().out)["error"]


# ---------------------------------------------------------------- 3. user text is not markup


def test_link_parameters_show_as_text(app_env):
    link = "[点此重新登录](http://evil.example/x)![](http://evil.example/pixel.png)"
    assert "](" not in plain(link).replace("\\]\\(", "")
    for param, page in (("county", None), ("region", "pages/drill.py")):
        at = as_user(AppTest.from_file(APP, default_timeout=60), "county_a")
        at.query_params[param] = link
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception
        assert [e.value for e in at.error] == [
            "无权限：链接中的区划不在您的查看范围内（或不存在），未显示任何数据。请从左侧菜单重新进入。"]
        shown = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
        for text in shown:  # the link is never echoed as markup
            assert not re.search(r"(?<!\\)\]\(", text), text


# ---------------------------------------------------------------- 4. personal data


def test_rejected_rows_and_messages_mask_personal_data(city_env, tmp_path, capsys):
    ledger = tmp_path / "people.csv"
    ledger.write_bytes(_csv([HEADER, _row("P001"), _row("P002", persons="-3")]))
    assert main(["import", "--user", "bureau", str(ledger), "--json"]) == 1
    out = capsys.readouterr()
    payload = json.loads(out.out)
    assert (payload["new"], payload["rejected"]) == (1, 1)
    rejected = (tmp_path / "people.rejected.csv").read_text(encoding="utf-8-sig")
    for text in (out.out, out.err, rejected):
        assert NAME not in text and PHONE not in text and ID_NO not in text
    assert all(masked in rejected for masked in MASKED)
    assert "P002" in rejected and "人数应为 1 至 10,000 的整数" in rejected


def test_a_long_case_number_on_postgresql_refuses_one_row(tmp_path_factory, caplog):
    from tests import fixture_city
    from tests.conftest import drop_database, throwaway_database

    url, drop = throwaway_database("postgresql", tmp_path_factory, "hostile")  # the session's database holds the fixture city already
    engine = db.make_engine(url)
    assert engine.hide_parameters
    fixture_city.build(engine)
    long_number = "L" * 506
    result = _import(engine, _csv([HEADER, _row("PG01"), _row(long_number)]))
    assert (result.new, result.rejected_count) == (1, 1)
    (refusal,) = result.rejected
    assert (refusal.row, refusal.column, refusal.reason) == (3, "信访件编号", "长度 506 个字，超过 40 个字的上限")
    assert len(refusal.value) == 61  # cut to 60 characters and …
    assert _case(engine, "PG01")["petitioner_name"] == NAME
    assert NAME not in caplog.text and PHONE not in caplog.text
    engine.dispose()
    drop_database(drop)


# ---------------------------------------------------------------- 5. one bad cell refuses one row


def test_each_bad_cell_refuses_its_row_only(writable_city, monkeypatch):
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    _, engine = writable_city
    rows = [HEADER, _row("V01", persons="3"), _row("V02", persons="1e30"), _row("V03", persons="1" * 20),
            _row("V04", persons="-2"), _row("V05", registered="2099-01-01"), _row("V06", registered="0001-01-01"),
            _row("V" * 506), _row("V08", persons="0"), _row("V09", registered="1989-12-31"), _row("V10")]
    result = _import(engine, _csv(rows))
    assert (result.rows, result.new, result.rejected_count) == (10, 2, 8)
    persons = "人数应为 1 至 10,000 的整数"
    assert [(r.row, r.column, r.reason) for r in result.rejected] == [
        (3, "人数", persons), (4, "人数", persons), (5, "人数", persons),
        (6, "登记日期", "日期 2099-01-01 超出合理范围（1990-01-01 至 2026-06-30），请检查年份"),
        (7, "登记日期", "日期 0001-01-01 超出合理范围（1990-01-01 至 2026-06-30），请检查年份"),
        (8, "信访件编号", "长度 506 个字，超过 40 个字的上限"),
        (9, "人数", persons),
        (10, "登记日期", "日期 1989-12-31 超出合理范围（1990-01-01 至 2026-06-30），请检查年份"),
    ]
    assert _case(engine, "V01")["persons"] == 3 and _case(engine, "V10")["persons"] == 1
    with engine.connect() as conn:  # nothing of the refused rows stored (SQLite does not check lengths)
        assert conn.execute(sa.select(sa.func.max(sa.func.length(cases.c.case_no)))).scalar() <= 40


def test_deadlines_may_lie_ahead_within_the_margin(writable_city, monkeypatch):
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    monkeypatch.setenv("IMPORT_DEADLINE_MARGIN_DAYS", "365")
    _, engine = writable_city
    header = [*HEADER, "化解目标日期", "答复日期"]
    rows = [header, [*_row("T01"), "2027-06-30", ""], [*_row("T02"), "2027-07-01", ""],
            [*_row("T03"), "", "2026-07-01"]]
    result = _import(engine, _csv(rows))
    assert result.new == 1
    assert [(r.row, r.column) for r in result.rejected] == [(3, "化解目标日期"), (4, "答复日期")]
    assert "2027-06-30" in result.rejected[0].reason  # today + 365 days


def test_formula_cells_are_reported(writable_city):
    _, engine = writable_city
    header = [*HEADER, "备注"]
    rows = [header, [*_row("F01")[:6], "=1+2", *_row("F01")[7:], ""], [*_row("F02"), "=A1"]]
    result = _import(engine, _xlsx(rows), "formula.xlsx")
    assert result.new == 1 and _case(engine, "F02") is not None  # 备注 is not imported
    (refusal,) = result.rejected
    assert (refusal.row, refusal.column, refusal.value) == (2, "人数", "（公式）")
    assert "公式单元格没有保存计算结果" in refusal.reason
    assert "（公式）" in rejected_csv(result).decode("utf-8-sig")


# ---------------------------------------------------------------- 6. crafted dates


@pytest.mark.parametrize("page", [None, "pages/drill.py", "pages/heatmap.py"])
def test_dates_of_year_one_in_links(app_env, page):
    at = as_user(AppTest.from_file(APP, default_timeout=60), "bureau")
    at.query_params["from"] = "0001-01-01"
    start = time.perf_counter()
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert time.perf_counter() - start < 30
    text = " ".join(str(e.value) for e in [*at.error, *at.warning, *at.info, *at.caption])
    assert "Traceback" not in text and "/work" not in text and str(ROOT) not in text


# ---------------------------------------------------------------- 7. locks


def _hold_write_lock(path: str, seconds: float, held: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_a_writer_waits_for_the_lock_and_says_busy_when_it_times_out(city_env, tmp_path, capsys, monkeypatch):
    path = sa.engine.make_url(city_env).database
    ledger = tmp_path / "wait.csv"
    ledger.write_bytes(_csv([HEADER, _row("W01")]))
    assert db.BUSY_TIMEOUT_SECONDS == 60
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.5, held))
    holder.start()
    held.wait()
    start = time.perf_counter()
    assert main(["import", "--user", "bureau", str(ledger), "--json"]) == 0  # waited, then wrote
    assert time.perf_counter() - start >= 1.0
    holder.join()
    capsys.readouterr()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_SECONDS", 0.3)
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 3, held))
    holder.start()
    held.wait()
    code = main(["import", "--user", "bureau", str(ledger), "--json"])
    holder.join()
    err = capsys.readouterr().err
    assert code == 1 and db.BUSY_MESSAGE in err and "init" not in err


# ---------------------------------------------------------------- 8. other counties' words


VALUE_HEADER = ["信访件编号", "登记日期", "来源方式", "所属县区", "问题类别", "满意度", "积案来源"]
MAPPING = """
[columns]
"来源方式" = "channel"

[values.channel]
"网络来件" = "online"

[values."满意度"]  # a Chinese table name is quoted in TOML
"较好" = "基本满意"
"""


def test_value_mapping_variants_and_warnings(city_env, tmp_path, capsys):
    (tmp_path / "对照.toml").write_text(MAPPING, encoding="utf-8")
    rows = [VALUE_HEADER,
            ["M01", "2026-03-05", "网络来件", "甲区", "劳动保障", "较好", ""],
            ["M02", "2026-03-05", "书信", "甲区", "劳动保障", "非常好", ""],
            ["M03", "2026-03-05", "飞鸽传书", "甲区", "劳动保障", "", ""],
            ["M04", "2026-03-05", "网上 投诉", "甲区", "劳动保障", "", "上级督办"],
            ["M05", "2026-03-05", "来\u3000电", "甲区", "劳动保障", "满 意", ""],
            ["M06", "2026-03-05", "ＷＥＢ", "甲区", "劳动保障", "", ""]]
    ledger = tmp_path / "county.csv"
    ledger.write_bytes(_csv(rows))
    assert main(["import", "--user", "bureau", str(ledger), "--mapping", str(tmp_path / "对照.toml"), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert {"rows", "new", "updated", "unchanged", "rejected", "dry_run", "rejections", "new_units",
            "new_leaders", "rejected_file", "warnings"} <= set(payload)
    assert (payload["rows"], payload["new"], payload["rejected"]) == (6, 4, 2)
    assert [(r["row"], r["column"], r["value"]) for r in payload["rejections"]] == [
        (4, "信访形式", "飞鸽传书"), (7, "信访形式", "ＷＥＢ")]
    assert [(w["row"], w["column"], w["value"]) for w in payload["warnings"]] == [
        (3, "满意度", "非常好"), (5, "积案来源", "上级督办")]
    assert all("已按原文保存" in w["reason"] for w in payload["warnings"])
    engine = db.make_engine(city_env)
    got = {n: (c["channel"], c["satisfaction"], c["backlog_source"])
           for n in ("M01", "M02", "M04", "M05") if (c := _case(engine, n))}
    assert got == {"M01": ("online", "basic", None), "M02": ("letter", "非常好", None),
                   "M04": ("online", None, "上级督办"), "M05": ("phone", "satisfied", None)}
    engine.dispose()


def test_unknown_words_and_the_saved_mapping(tmp_path):
    rows = [VALUE_HEADER, ["A", "", "飞鸽传书", "", "", "非常好", ""], ["B", "", "飞鸽传书", "", "", "满意", "上级督办"],
            ["C", "", "来信", "", "", "满意", ""]]
    header_row, columns = find_header(rows, {"来源方式": "channel"})
    assert unknown_words(rows, header_row, columns) == {
        "channel": {"飞鸽传书": 2}, "satisfaction": {"非常好": 1}, "backlog_source": {"上级督办": 1}}
    assert unknown_words(rows, header_row, columns, {"channel": {"飞鸽 传书": "letter"}}) == {
        "satisfaction": {"非常好": 1}, "backlog_source": {"上级督办": 1}}
    saved = tmp_path / "saved.toml"
    saved.write_text(mapping_toml({"来源方式": "channel", "备注": ""},
                                  {"channel": {"飞鸽传书": "letter"}, "satisfaction": {"非常好": "satisfied"}}),
                     encoding="utf-8")
    assert load_mapping(saved) == {"来源方式": "channel", "备注": ""}
    assert load_values(saved) == {"channel": {"飞鸽传书": "letter"}, "satisfaction": {"非常好": "satisfied"}}
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[values.channel]\n"飞鸽传书" = "pigeon"\n', encoding="utf-8")
    with pytest.raises(LedgerError, match="未知代码“pigeon”"):
        load_values(wrong)
    wrong.write_text('[values.summary]\n"x" = "y"\n', encoding="utf-8")
    with pytest.raises(LedgerError, match="不是代码列"):
        load_values(wrong)


# ---------------------------------------------------------------- 9. remind --json


def test_remind_json_is_valid_without_a_unit(city_env, capsys):
    engine = db.make_engine(city_env)
    with engine.begin() as conn:
        conn.execute(cases.update().where(cases.c.case_no == "C04").values(responsible_unit_id=None))
    engine.dispose()
    assert main(["remind", "--user", "bureau", "--json", "--date", "2026-06-30"]) == 0
    out = capsys.readouterr().out

    def refuse(constant):
        raise ValueError(constant)

    queue = json.loads(out, parse_constant=refuse)  # bare NaN is not JSON
    assert [r["unit"] for r in queue if r["case_no"] == "C04"] == [None]


# ---------------------------------------------------------------- refusals before drawing, admin downloads


def test_heatmap_refuses_an_outside_township_before_drawing(app_env):
    at = as_user(AppTest.from_file(APP, default_timeout=60), "county_a")
    at.query_params["township"] = "880121002"  # 北河乡, of the other county
    at.run()
    at.switch_page("pages/heatmap.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "无权限：链接中的区划不在您的查看范围内（或不存在），未显示任何数据。请从左侧菜单重新进入。"]
    main_area = [t.value for t in at.main.title] + [s.value for s in at.main.subheader]
    assert main_area == [] and len(at.main.get("deck_gl_json_chart")) == 0


def test_the_administrator_downloads_users_and_audit_but_no_case_data(writable_city):
    from dashboard import actions, audit
    from dashboard.permissions import Refused
    from tests.signin import actor_of

    url, engine = writable_city
    admin = actor_of("admin", url)
    actions.export(engine, admin, "用户清单.csv", detail="用户清单", permission="users")
    actions.export(engine, admin, "审计日志.csv", detail="审计日志", permission="audit")
    with pytest.raises(Refused):
        actions.export(engine, admin, "台账.csv")  # case data: the export permission
    with pytest.raises(ValueError):
        actions.export(engine, admin, "x.csv", permission="reveal")
    with engine.connect() as conn:
        records = conn.execute(sa.select(audit.audit_log.c.action, audit.audit_log.c.target,
                                         audit.audit_log.c.outcome)
                               .where(audit.audit_log.c.user_name == "admin")
                               .order_by(audit.audit_log.c.id)).all()
    assert [tuple(r) for r in records][-3:] == [
        ("export", "用户清单.csv", "ok"), ("export", "审计日志.csv", "ok"), ("export", "台账.csv", "denied")]
