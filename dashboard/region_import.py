"""Regions of a real city: a CSV of codes and names, and a GeoJSON of boundaries."""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.ledger import LedgerError, _read_csv, clean
from dashboard.models import regions

HEADERS = {
    "code": ("code", "区划代码", "代码"), "name": ("name", "名称", "区划名称"),
    "level": ("level", "层级", "级别"), "parent_code": ("parent_code", "上级代码", "上级区划代码"),
    "lon": ("lon", "经度"), "lat": ("lat", "纬度"), "population": ("population", "人口", "常住人口"),
}
LEVEL_WORDS = {"city": "city", "市": "city", "county": "county", "县": "county", "区": "county", "县区": "county",
               "township": "township", "乡镇": "township", "街道": "township", "乡": "township", "镇": "township"}
LEVEL_DIGITS = {"city": 6, "county": 6, "township": 9}


def import_region_csv(conn: Connection, data: bytes, filename: str) -> dict:
    """Upsert regions from a CSV; every problem is reported and nothing is written."""
    rows = _read_csv(data, filename, None)
    if not rows:
        raise LedgerError(f"{filename} 没有内容。")
    header = [clean(h).lower() for h in rows[0]]
    where = {}
    for key, names in HEADERS.items():
        for name in names:
            if name.lower() in header:
                where[key] = header.index(name.lower())
                break
    missing = [HEADERS[k][1] for k in ("code", "name", "level") if k not in where]
    if missing:
        raise LedgerError(f"{filename} 缺少列：{'、'.join(missing)}（可用英文 code,name,level,parent_code,lon,lat,population）。")
    records, problems = [], []
    known = set(conn.execute(sa.select(regions.c.code)).scalars())
    for line, row in enumerate(rows[1:], start=2):
        if not any(clean(c) for c in row):
            continue
        value = {k: clean(row[i]) if i < len(row) else "" for k, i in where.items()}
        level = LEVEL_WORDS.get(value["level"])
        if level is None:
            problems.append(f"第 {line} 行：层级 {value['level']!r} 应为 city/county/township（市/县区/乡镇）")
            continue
        if not value["code"].isdigit() or len(value["code"]) != LEVEL_DIGITS[level]:
            problems.append(f"第 {line} 行：区划代码 {value['code']!r} 应为 {LEVEL_DIGITS[level]} 位数字")
            continue
        record = {"code": value["code"], "name": value["name"], "level": level,
                  "parent_code": value.get("parent_code") or None}
        for key in ("lon", "lat"):
            try:
                record[key] = float(value[key]) if value.get(key) else None
            except ValueError:
                problems.append(f"第 {line} 行：{HEADERS[key][1]} {value[key]!r} 不是数字")
        try:
            record["population"] = int(float(value["population"])) if value.get("population") else None
        except ValueError:
            problems.append(f"第 {line} 行：人口 {value['population']!r} 不是数字")
        records.append(record)
    codes = {r["code"] for r in records} | known
    for record in records:
        if record["parent_code"] and record["parent_code"] not in codes:
            problems.append(f"区划 {record['code']} 的上级代码 {record['parent_code']} 不存在")
    if problems:
        raise LedgerError(f"{filename} 有 {len(problems)} 处问题，未导入任何区划：\n" + "\n".join(problems[:20]))
    order = {"city": 0, "county": 1, "township": 2}
    new = updated = 0
    for record in sorted(records, key=lambda r: order[r["level"]]):  # parents first
        if record["code"] in known:
            conn.execute(regions.update().where(regions.c.code == record["code"]).values(
                **{k: v for k, v in record.items() if k != "code" and v is not None}))
            updated += 1
        else:
            conn.execute(regions.insert().values(**record))
            known.add(record["code"])
            new += 1
    return {"new": new, "updated": updated}


def _ring_problem(ring) -> str | None:
    if len(ring) < 4:
        return "多边形顶点少于 4 个"
    if ring[0] != ring[-1]:
        return "多边形未闭合（首尾坐标不同）"
    for point in ring:
        if len(point) < 2 or not all(isinstance(c, int | float) and math.isfinite(c) for c in point[:2]):
            return "坐标不是数字"
        if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            return f"坐标 {point[:2]} 超出经纬度范围"
    return None


def geometry_problem(geometry: dict) -> str | None:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        return f"几何类型为 {kind}，应为 Polygon 或 MultiPolygon"
    polygons = geometry["coordinates"] if kind == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        for ring in polygon:
            problem = _ring_problem(ring)
            if problem:
                return problem
    try:
        from shapely.geometry import shape
    except ImportError:  # shapely is optional at run time
        return None
    if not shape(geometry).is_valid:
        return "多边形自相交或重叠，几何无效"
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
        by_name.setdefault(t.name, []).append(t.code)
    updates, problems = [], []
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") or {}
        code = str(properties.get("code") or properties.get("区划代码") or "")
        name = str(properties.get("name") or properties.get("名称") or "")
        if code not in by_code:
            matches = by_name.get(name, [])
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
        ring = (geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0])
        lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
        lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
        updates.append({"_code": code, "boundary": json.dumps(geometry, ensure_ascii=False), "lon": lon, "lat": lat})
    if problems:
        raise LedgerError(f"{filename} 有 {len(problems)} 处问题，未导入任何边界：\n" + "\n".join(problems[:20]))
    conn.execute(regions.update().where(regions.c.code == sa.bindparam("_code"))
                 .values(boundary=sa.bindparam("boundary"), lon=sa.bindparam("lon"), lat=sa.bindparam("lat")), updates)
    return {"boundaries": len(updates)}
