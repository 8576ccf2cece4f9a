"""Issue 7, regions of a real city: the region list is checked row by row (nothing is
written when anything is wrong) and boundaries are always validated with shapely."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.ledger import LedgerError
from dashboard.models import regions
from dashboard.region_import import geometry_problem, import_boundaries, import_region_csv
from entrypoints.cli import main

SQUARE = [[110.2, 30.2], [110.3, 30.2], [110.3, 30.3], [110.2, 30.3], [110.2, 30.2]]
BOWTIE = [[110.0, 30.0], [110.1, 30.1], [110.1, 30.0], [110.0, 30.1], [110.0, 30.0]]


def _regions(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["code"]: dict(r) for r in conn.execute(sa.select(regions)).mappings()}


def test_shapely_is_a_runtime_dependency():
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "shapely>=2.0,<3" in project["project"]["dependencies"]


def test_region_list_problems_are_all_reported_with_row_numbers(writable_city):
    _, engine = writable_city
    before = _regions(engine)
    text = "\n".join([
        "区划代码,名称,层级,上级代码",
        "880199,,county,880100",  # 2: empty name
        "880121011,新镇,township,880100",  # 3: a township under the city
        "880198,新区,county,880102",  # 4: a county under a county
        "880197,无上级区,county,",  # 5: a county without parent
        "880196,某村,village,880100",  # 6: unknown level
        "88019,短码区,county,880100",  # 7: 5 digits
        "8801210123,长码镇,township,880121",  # 8: 10 digits
        "880121012,甲镇,township,880121",  # 9: fine
        "880121012,乙镇,township,880121",  # 10: repeats row 9
        "880200,另一市,city,",  # 11: a second city
        "880121013,孤镇,township,889999",  # 12: unknown parent
        "880102,甲区,township,880100",  # 13: an existing county turned into a township
    ])
    with pytest.raises(LedgerError) as error, engine.begin() as conn:
        import_region_csv(conn, text.encode("utf-8"), "regions.csv")
    message = str(error.value)
    expected = [
        "第 2 行：名称为空",
        "第 3 行：乡镇的上级代码 880100 是市，不是县区",
        "第 4 行：县区的上级代码 880102 是县区，不是市",
        "第 5 行：县区的上级代码为空，应为市的区划代码",
        "第 6 行：层级 'village' 应为 city/county/township（市/县区/乡镇）",
        "第 7 行：区划代码 '88019' 应为 6 位数字（县区）",
        "第 8 行：区划代码 '8801210123' 应为 9 位数字（乡镇）",
        "第 10 行：区划代码 880121012 与第 9 行重复",
        "第 11 行：出现了多个市（880100、880200），一套系统只能有一个市",
        "第 12 行：乡镇的上级代码 889999 不存在",
        "第 13 行：区划代码 '880102' 应为 9 位数字（乡镇）",
    ]
    for line in expected:
        assert line in message, line
    assert message.startswith(f"regions.csv 有 {len(expected)} 处问题，未导入任何区划")
    assert _regions(engine) == before


def test_region_list_of_a_new_city_in_one_file(writable_city):
    _, engine = writable_city
    text = "\n".join([
        "code,name,level,parent_code,lon,lat,population",
        "880121020,新城　街道,乡镇,880122,110.2,30.2,30000",  # parent defined below in the same file
        "880122,丙县,县区,８８０１００,,,150000",  # full-width digits in a code
        "880100,测试市,市,880000,,,",  # the province above the city is not kept
    ])
    with engine.begin() as conn:
        assert import_region_csv(conn, text.encode("utf-8"), "r.csv") == {"new": 2, "updated": 1}
    after = _regions(engine)
    assert (after["880122"]["parent_code"], after["880122"]["population"]) == ("880100", 150000)
    assert (after["880121020"]["name"], after["880121020"]["parent_code"]) == ("新城 街道", "880122")
    assert after["880100"]["parent_code"] is None


@pytest.mark.parametrize("geometry,reason", [
    ({"type": "Polygon", "coordinates": []}, "几何没有坐标"),
    ({"type": "Polygon"}, "几何没有坐标"),
    ({"type": "MultiPolygon", "coordinates": [[]]}, "多边形没有坐标环"),
    ({"type": "Polygon", "coordinates": [[[110.0, 30.0], [110.1, 30.0]]]}, "顶点少于 4 个"),
    ({"type": "Polygon", "coordinates": [[[110, 30], [110.1, "x"], [110.1, 30.1], [110, 30]]]}, "坐标不是数字"),
    ({"type": "Polygon", "coordinates": [BOWTIE]}, "多边形自相交"),
    ({"type": "Point", "coordinates": [110, 30]}, "应为 Polygon 或 MultiPolygon"),
    (None, "没有几何"),
])
def test_invalid_geometry_is_refused_with_a_reason(geometry, reason):
    assert reason in geometry_problem(geometry)


def test_boundaries_file_with_problems_writes_nothing(writable_city):
    _, engine = writable_city
    before = _regions(engine)
    features = [
        {"type": "Feature", "properties": {"name": "东门 街道"}, "geometry": {"type": "Polygon", "coordinates": [SQUARE]}},
        {"type": "Feature", "properties": {"code": "880102002"}, "geometry": {"type": "Polygon", "coordinates": []}},
        {"type": "Feature", "properties": {"code": "880121001"}},
        "not a feature",
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    with pytest.raises(LedgerError) as error, engine.begin() as conn:
        import_boundaries(conn, data, "b.geojson")
    message = str(error.value)
    assert "3 处问题" in message
    assert "第 2 个要素（880102002）：几何没有坐标" in message
    assert "第 3 个要素（880121001）：没有几何" in message and "第 4 个要素不是 GeoJSON Feature" in message
    assert _regions(engine) == before
    with engine.begin() as conn:  # the good feature alone goes in (name matched despite the space)
        good = json.dumps({"type": "FeatureCollection", "features": features[:1]}).encode()
        assert import_boundaries(conn, good, "b.geojson") == {"boundaries": 1}
    town = _regions(engine)["880102001"]
    assert (round(town["lon"], 6), round(town["lat"], 6)) == (110.25, 30.25)


def test_regions_cli_json(writable_city, tmp_path, capfd, monkeypatch):
    url, engine = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\n880121011,,township,880121\n", encoding="utf-8")
    assert main(["regions", "import", "--user", "bureau", str(bad), "--json"]) == 2
    out, err = capfd.readouterr()
    payload = json.loads(out)
    assert payload["exit_code"] == 2 and "第 2 行：名称为空" in payload["error"] and "第 2 行：名称为空" in err
    good = tmp_path / "good.csv"
    good.write_text("code,name,level,parent_code\n880121011,新镇,township,880121\n", encoding="utf-8")
    assert main(["regions", "import", "--user", "bureau", str(good), "--json"]) == 0
    assert json.loads(capfd.readouterr().out) == {"file": str(good), "new": 1, "updated": 0}
    assert main(["regions", "import", "--user", "bureau", str(good)]) == 0
    assert "新增 0，更新 1" in capfd.readouterr().out
