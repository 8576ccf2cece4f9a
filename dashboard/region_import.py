"""Regions of a real city: a CSV of codes and names, and a GeoJSON of boundaries."""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy.engine import Connection

from dashboard.exports import unneutralise
from dashboard.ledger import LedgerError, clean, fold, header_key, name_key, read_csv
from dashboard.models import regions

HEADERS = {
    "code": ("code", "区划代码", "代码"), "name": ("name", "名称", "区划名称"),
    "level": ("level", "层级", "级别"), "parent_code": ("parent_code", "上级代码", "上级区划代码"),
    "lon": ("lon", "经度"), "lat": ("lat", "纬度"), "population": ("population", "人口", "常住人口"),
}
LEVEL_WORDS = {"city": "city", "市": "city", "county": "county", "县": "county", "区": "county", "县区": "county",
               "township": "township", "乡镇": "township", "街道": "township", "乡": "township", "镇": "township",
               "县/区": "county", "县（市、区）": "county", "乡镇/街道": "township", "乡镇（街道）": "township"}
LEVEL_DIGITS = {"city": 6, "county": 6, "township": 9}
LEVEL_NAMES = {"city": "市", "county": "县区", "township": "乡镇"}


def import_region_csv(conn: Connection, data: bytes, filename: str) -> dict:
    """Upsert regions from a CSV; every problem is reported (with its row number) and
    nothing is written when there is any."""
    if not data.strip():
        raise LedgerError(f"{filename} 是空文件，没有任何区划。")
    rows = read_csv(data, filename, None, headers={header_key(n) for names in HEADERS.values() for n in names})
    rows = [[unneutralise(cell) for cell in row] for row in rows]
    header = [header_key(h) for h in rows[0]]
    where = {}
    for key, names in HEADERS.items():
        for name in names:
            if header_key(name) in header:
                where[key] = header.index(header_key(name))
                break
    missing = [HEADERS[k][1] for k in ("code", "name", "level") if k not in where]
    if missing:
        raise LedgerError(f"{filename} 缺少列：{'、'.join(missing)}（可用英文 code,name,level,parent_code,lon,lat,population）。")
    known = {r.code: r for r in conn.execute(sa.select(regions.c.code, regions.c.name, regions.c.level))}
    records, problems, lines = [], [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(clean(c) for c in row):
            continue
        value = {k: clean(row[i]) if i < len(row) else "" for k, i in where.items()}
        value.update({k: fold(value[k]) for k in ("code", "level", "parent_code", "lon", "lat", "population")
                      if k in value})
        row_problems = []
        level = LEVEL_WORDS.get(value["level"].lower())
        if level is None:
            row_problems.append(f"层级 {value['level']!r} 应为 city/county/township（市/县区/乡镇）")
        if not value["name"]:
            row_problems.append("名称为空")
        code = value["code"]
        if not code:
            row_problems.append("区划代码为空")
        elif level and not (code.isascii() and code.isdigit() and len(code) == LEVEL_DIGITS[level]):
            row_problems.append(f"区划代码 {code!r} 应为 {LEVEL_DIGITS[level]} 位数字（{LEVEL_NAMES[level]}）")
        elif code in lines:
            row_problems.append(f"区划代码 {code} 与第 {lines[code]} 行重复")
        elif level and code in known and known[code].level != level:
            row_problems.append(f"区划代码 {code} 已是{LEVEL_NAMES[known[code].level]}“{known[code].name}”，"
                                f"不能改为{LEVEL_NAMES[level]}")
        if code and code not in lines:
            lines[code] = line
        record = {"code": code, "name": value["name"], "level": level,
                  # a city's parent (the province) is not in the database
                  "parent_code": (value.get("parent_code") or None) if level != "city" else None}
        for key, low, high in (("lon", -180, 180), ("lat", -90, 90)):
            try:
                record[key] = float(value[key]) if value.get(key) else None
            except ValueError:
                row_problems.append(f"{HEADERS[key][1]} {value[key]!r} 不是数字")
                continue
            if record[key] is not None and not (low <= record[key] <= high):
                row_problems.append(f"{HEADERS[key][1]} {value[key]} 超出范围（{low}～{high}）")
        try:
            record["population"] = int(float(value["population"])) if value.get("population") else None
            if record["population"] is not None and record["population"] < 0:
                row_problems.append(f"人口 {value['population']} 不能为负数")
        except (ValueError, OverflowError):
            row_problems.append(f"人口 {value['population']!r} 不是数字")
        problems += [(line, p) for p in row_problems]
        if not row_problems:
            records.append((line, record))
    problems += _parent_problems(records, known)
    if problems:
        problems.sort()
        raise LedgerError(f"{filename} 有 {len(problems)} 处问题，未导入任何区划：\n"
                          + "\n".join(f"第 {line} 行：{p}" for line, p in problems[:30])
                          + (f"\n……另有 {len(problems) - 30} 处" if len(problems) > 30 else ""))
    if not records:
        raise LedgerError(f"{filename} 只有表头，没有区划数据。")
    order = {"city": 0, "county": 1, "township": 2}
    new = updated = 0
    for _, record in sorted(records, key=lambda r: order[r[1]["level"]]):  # parents first
        if record["code"] in known:
            conn.execute(regions.update().where(regions.c.code == record["code"]).values(
                **{k: v for k, v in record.items() if k != "code" and v is not None}))
            updated += 1
        else:
            conn.execute(regions.insert().values(**record))
            new += 1
    return {"new": new, "updated": updated}


def _parent_problems(records: list[tuple[int, dict]], known: dict) -> list[tuple[int, str]]:
    """A township's parent must be a county, a county's the city (one city per
    installation), looking at the file and the database together."""
    levels = {code: r.level for code, r in known.items()}
    levels.update({r["code"]: r["level"] for _, r in records})
    cities = sorted({code for code, level in levels.items() if level == "city"})
    problems = []
    if len(cities) > 1:
        where = [line for line, r in records if r["level"] == "city"]
        problems.append((where[0] if where else 0, f"出现了多个市（{'、'.join(cities)}），一套系统只能有一个市"))
    for line, record in records:
        parent, level = record["parent_code"], record["level"]
        if level == "county":
            if not parent:
                problems.append((line, "县区的上级代码为空，应为市的区划代码"
                                 + (f" {cities[0]}" if len(cities) == 1 else "")))
            elif levels.get(parent) != "city":
                problems.append((line, f"县区的上级代码 {parent} " + _not_a(parent, levels, "市")))
        elif level == "township":
            if not parent:
                problems.append((line, "乡镇的上级代码为空，应为所属县区的区划代码"))
            elif levels.get(parent) != "county":
                problems.append((line, f"乡镇的上级代码 {parent} " + _not_a(parent, levels, "县区")))
    return problems


def _not_a(code: str, levels: dict, wanted: str) -> str:
    if code not in levels:
        return f"不存在（应为{wanted}的区划代码，可在同一文件中先列出该{wanted}）"
    return f"是{LEVEL_NAMES[levels[code]]}，不是{wanted}"


def _ring_problem(ring) -> str | None:
    if not isinstance(ring, list) or len(ring) < 4:
        return "多边形顶点少于 4 个"
    for point in ring:
        if (not isinstance(point, list | tuple) or len(point) < 2
                or not all(isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
                           for c in point[:2])):
            return "坐标不是数字"
        if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            return f"坐标 {list(point[:2])} 超出经纬度范围"
    if list(ring[0][:2]) != list(ring[-1][:2]):
        return "多边形未闭合（首尾坐标不同）"
    return None


def geometry_problem(geometry) -> str | None:
    """Why a GeoJSON geometry cannot be a township boundary, or None when it can."""
    if not isinstance(geometry, dict):
        return "没有几何（geometry）"
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        return f"几何类型为 {kind}，应为 Polygon 或 MultiPolygon"
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        return "几何没有坐标（coordinates 为空或缺失）"
    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return "多边形没有坐标环（coordinates 为空）"
        for ring in polygon:
            problem = _ring_problem(ring)
            if problem:
                return problem
    try:
        shaped = shape(geometry)
    except (ValueError, TypeError, GEOSException) as error:
        return f"几何无法解析（{error}）"
    if not shaped.is_valid:
        reason = explain_validity(shaped)
        what = ("多边形自相交" if "Self-intersection" in reason
                else "多边形之间或内外环重叠" if "overlap" in reason.lower() or "Nested" in reason
                else "几何无效")
        return f"{what}，几何无效（{reason}）"
    if shaped.area == 0:
        return "多边形面积为 0，几何无效"
    return None


def import_boundaries(conn: Connection, data: bytes, filename: str) -> dict:
    """Set township boundaries (and centroids) from a GeoJSON FeatureCollection whose
    features carry a code (`code`/`区划代码`) or a name (`name`/`名称`) property."""
    try:
        collection = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LedgerError(f"{filename} 不是有效的 GeoJSON 文件。") from None
    features = collection.get("features") if isinstance(collection, dict) else None
    if not features:
        raise LedgerError(f"{filename} 中没有 features（应为 GeoJSON FeatureCollection）。")
    towns = conn.execute(sa.select(regions.c.code, regions.c.name).where(regions.c.level == "township")).all()
    by_code = {t.code for t in towns}
    by_name: dict[str, list[str]] = {}
    for t in towns:
        by_name.setdefault(name_key(t.name), []).append(t.code)
    updates, problems = [], []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            problems.append(f"第 {number} 个要素不是 GeoJSON Feature")
            continue
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        code = fold(properties.get("code") or properties.get("区划代码") or "")
        name = clean(properties.get("name") or properties.get("名称") or "")
        if code not in by_code:
            matches = by_name.get(name_key(name), [])
            if len(matches) != 1:
                problems.append(f"第 {number} 个要素（{code or name or '无名'}）：找不到对应乡镇"
                                + ("（重名，请用区划代码）" if len(matches) > 1 else ""))
                continue
            code = matches[0]
        problem = geometry_problem(feature.get("geometry"))
        if problem:
            problems.append(f"第 {number} 个要素（{code}）：{problem}")
            continue
        geometry = feature["geometry"]
        centre = shape(geometry).centroid
        updates.append({"_code": code, "boundary": json.dumps(geometry, ensure_ascii=False),
                        "lon": centre.x, "lat": centre.y})
    if problems:
        raise LedgerError(f"{filename} 有 {len(problems)} 处问题，未导入任何边界：\n" + "\n".join(problems[:20]))
    conn.execute(regions.update().where(regions.c.code == sa.bindparam("_code"))
                 .values(boundary=sa.bindparam("boundary"), lon=sa.bindparam("lon"), lat=sa.bindparam("lat")), updates)
    return {"boundaries": len(updates)}


def import_regions_file(conn: Connection, data: bytes, filename: str) -> tuple[dict, str]:
    """A region CSV or a boundary GeoJSON (by its ending), for the CLI and the page:
    the summary and a line saying what was done."""
    from dashboard.deadlines import seed_presets

    seed_presets(conn)  # a database made with `init` and no sample gets its rule presets
    if filename.lower().endswith((".geojson", ".json")):
        summary = import_boundaries(conn, data, filename)
        return summary, f"已导入 {summary['boundaries']} 个乡镇边界。"
    summary = import_region_csv(conn, data, filename)
    return summary, f"已导入区划：新增 {summary['new']}，更新 {summary['updated']}。"
