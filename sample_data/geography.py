"""The fictional city 云溪市 (990100): 6 counties/districts, 90 townships, boundaries.

`load_geography()` reads the committed `city.geojson` with the standard library only
(the runtime never imports shapely). `build_geography()` regenerates that file with
shapely (a test/build extra): ``python -m sample_data.geography``.

How the map is built (deterministic from `BUILD_SEED`):

1. the city outline is an irregular star-shaped polygon around (118.8 E, 33.6 N);
2. ~360 random points inside it get Voronoi cells; each cell joins the county whose
   centre is nearest in a weighted (and slightly noisy) distance, so the two urban
   districts are small and the county borders are irregular;
3. inside each county the township seeds are spread by a few Lloyd iterations and the
   townships are their Voronoi cells clipped to the county;
4. all township boundaries are noded together, snapped to a 1e-5 degree grid and
   polygonized again, so neighbours share exactly the same vertices after rounding to
   5 decimals; counties and the city are unions of their townships.
"""

from __future__ import annotations

import json
from pathlib import Path

GEOJSON_PATH = Path(__file__).with_name("city.geojson")
BUILD_SEED = 990100
GRID = 1e-5  # 5 decimals of a degree (about 1 m)

CITY_CODE = "990100"
CITY_NAME = "云溪市"
CITY_CENTER = (118.80, 33.60)
CITY_RADIUS = (0.45, 0.35)  # degrees of longitude / latitude

# code, name, centre (lon, lat), weight (small = compact urban district),
# numbers of 街道 / 镇 / 乡
COUNTIES: tuple[tuple[str, str, tuple[float, float], float, tuple[int, int, int]], ...] = (
    ("990102", "云溪区", (118.78, 33.62), 0.36, (10, 2, 0)),
    ("990103", "东湖区", (118.93, 33.57), 0.36, (9, 4, 0)),
    ("990121", "临江县", (118.52, 33.42), 1.00, (2, 11, 4)),
    ("990122", "北山县", (118.80, 33.90), 1.00, (1, 10, 5)),
    ("990123", "清河县", (119.08, 33.38), 1.00, (2, 10, 3)),
    ("990124", "桐源县", (118.45, 33.78), 1.00, (1, 12, 4)),
)

_URBAN_NAMES = (
    "文昌", "兴华", "长安", "和平", "解放", "迎宾", "新城", "鼓楼", "钟楼", "南门",
    "西关", "东关", "凤鸣", "玉带", "望湖", "滨湖", "翠屏", "白鹭", "锦绣", "春晖",
    "云塔", "丹桂", "紫荆", "龙湾", "金梧", "秀水", "柳园", "朝阳", "明珠", "青年",
)
_RURAL_FIRST = (
    "青", "石", "柳", "桃", "杏", "梅", "兰", "竹", "松", "柏", "枫", "槐", "杨", "马",
    "龙", "凤", "金", "银", "白", "高", "大", "新", "古", "双", "三", "五", "八", "永",
    "太", "安", "福", "兴", "丰", "顺", "宝", "庆", "长", "平", "明", "合", "仁", "义",
)
_RURAL_SECOND = (
    "山", "河", "湖", "桥", "庄", "集", "店", "港", "口", "坝", "岗", "圩", "湾", "塘",
    "营", "堡", "林", "田", "沟", "坪", "岭", "溪", "泉", "渡", "埠", "寨", "墩", "铺",
)


# ---------------------------------------------------------------------------------
# Runtime: read the committed file (standard library only)
# ---------------------------------------------------------------------------------


def load_geography(path: str | Path | None = None) -> list[dict]:
    """The regions of the sample city, city first, then counties, then townships.

    Each dict has code, name, level (city/county/township), parent_code, lon, lat,
    population and boundary (a GeoJSON geometry as a JSON string).
    """
    source = Path(path) if path is not None else GEOJSON_PATH
    collection = json.loads(source.read_text(encoding="utf-8"))
    order = {"city": 0, "county": 1, "township": 2}
    regions = []
    for feature in collection["features"]:
        props = feature["properties"]
        regions.append(
            {
                "code": props["code"],
                "name": props["name"],
                "level": props["level"],
                "parent_code": props["parent_code"],
                "lon": props["lon"],
                "lat": props["lat"],
                "population": props["population"],
                "boundary": json.dumps(
                    feature["geometry"], ensure_ascii=False, separators=(",", ":")
                ),
            }
        )
    regions.sort(key=lambda r: (order[r["level"]], r["code"]))
    return regions


# ---------------------------------------------------------------------------------
# Build time: shapely
# ---------------------------------------------------------------------------------


def _city_outline(rng):
    import numpy as np
    from shapely.geometry import Polygon

    n = 56
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    theta = theta + rng.uniform(-0.35, 0.35, n) * (2.0 * np.pi / n)
    radius = np.ones(n)
    for k in range(2, 7):
        radius += rng.uniform(0.02, 0.07) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    radius += rng.uniform(-0.025, 0.025, n)
    lon = CITY_CENTER[0] + CITY_RADIUS[0] * radius * np.cos(theta)
    lat = CITY_CENTER[1] + CITY_RADIUS[1] * radius * np.sin(theta)
    outline = Polygon(zip(np.round(lon, 5), np.round(lat, 5), strict=True))
    assert outline.is_valid
    return outline


def _random_points_in(polygon, n, rng):
    import numpy as np
    import shapely

    minx, miny, maxx, maxy = polygon.bounds
    points: list[tuple[float, float]] = []
    while len(points) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(polygon, xs, ys)
        points.extend(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    return np.array(points[:n])


def _voronoi_cells(points, clip):
    """Voronoi cells of `points` (in the same order), clipped to `clip`."""
    import shapely
    from shapely.geometry import MultiPoint

    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=clip.envelope.buffer(1.0))
    cells = [None] * len(points)
    for cell in diagram.geoms:
        inside = shapely.contains_xy(cell, points[:, 0], points[:, 1]).nonzero()[0]
        if len(inside) != 1:
            raise RuntimeError("Voronoi cell without exactly one seed")
        cells[int(inside[0])] = cell
    return [shapely.intersection(cell, clip) for cell in cells]


def _polygon_parts(geom):
    import shapely

    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]


def _make_contiguous(geoms):
    """Give every fragment of a multi-part region to the neighbour it shares most
    border with, until every region is one polygon."""
    import shapely

    geoms = [shapely.union_all(_polygon_parts(g)) for g in geoms]
    for _ in range(20):
        orphans = []
        for i, geom in enumerate(geoms):
            parts = sorted(_polygon_parts(geom), key=lambda p: -p.area)
            if len(parts) > 1:
                geoms[i] = parts[0]
                orphans.extend(parts[1:])
        if not orphans:
            return geoms
        for orphan in orphans:
            shared = [
                shapely.intersection(orphan.boundary, g.boundary).length for g in geoms
            ]
            best = max(range(len(geoms)), key=lambda i: shared[i])
            geoms[best] = shapely.union_all([geoms[best], orphan])
    raise RuntimeError("could not make regions contiguous")


def _county_polygons(outline, rng):
    import numpy as np
    import shapely

    points = _random_points_in(outline, 360, rng)
    cells = _voronoi_cells(points, outline)
    centres = np.array([c[2] for c in COUNTIES])
    weights = np.array([c[3] for c in COUNTIES])
    scale = np.array([1.0, 1.2])  # a degree of latitude is longer than one of longitude
    dist = np.linalg.norm((points[:, None, :] - centres[None, :, :]) * scale, axis=2)
    score = dist / weights[None, :] * rng.lognormal(0.0, 0.12, dist.shape)
    owner = score.argmin(axis=1)

    # smooth the borders: a cell surrounded mostly by another county joins it
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    neighbours: list[list[int]] = [[] for _ in cells]
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i != j and cells[i].intersection(cells[j]).length > 0:
            neighbours[i].append(j)
    for _ in range(3):
        updated = owner.copy()
        for i, near in enumerate(neighbours):
            votes = np.bincount(owner[near], minlength=len(COUNTIES))
            if votes.max() * 4 >= len(near) * 3 and votes.argmax() != owner[i]:
                updated[i] = votes.argmax()
        owner = updated
    groups = [
        shapely.union_all([cells[i] for i in np.nonzero(owner == k)[0]])
        for k in range(len(COUNTIES))
    ]
    return _make_contiguous(groups)


def _township_polygons(county, n, rng):
    import numpy as np
    import shapely

    seeds = _random_points_in(county, n, rng)
    for _ in range(12):  # Lloyd relaxation: even township sizes
        cells = _voronoi_cells(seeds, county)
        moved = []
        for cell, seed in zip(cells, seeds, strict=True):
            centre = cell.centroid if not cell.is_empty else shapely.Point(seed)
            if not county.contains(centre):
                centre = cell.point_on_surface()
            moved.append((centre.x, centre.y))
        seeds = np.array(moved)
    # a little jitter so the map is not too regular, then the final cells
    seeds = seeds + rng.normal(0.0, 0.004, seeds.shape)
    inside = [cell.point_on_surface() for cell in _voronoi_cells(seeds, county)]
    seeds = np.array(
        [
            seed if county.contains(shapely.Point(seed)) else (point.x, point.y)
            for seed, point in zip(seeds, inside, strict=True)
        ]
    )
    return _make_contiguous(_voronoi_cells(seeds, county))


def _snap_coverage(polygons):
    """Node all boundaries together, snap them to the grid and polygonize again, so
    neighbouring polygons share identical vertices. Returns polygons in the same order."""
    import numpy as np
    import shapely

    # an overlay with a grid size nodes and snap-rounds the linework in one step
    lines = shapely.union_all([p.boundary for p in polygons], grid_size=GRID)
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    tree = shapely.STRtree(polygons)
    assigned: list[list] = [[] for _ in polygons]
    for face in faces:
        if face.area <= 0:
            continue
        candidates = tree.query(face)
        areas = [shapely.intersection(face, polygons[i]).area for i in candidates]
        assigned[int(candidates[int(np.argmax(areas))])].append(face)
    result = []
    for polygon, faces_of in zip(polygons, assigned, strict=True):
        if not faces_of:
            raise RuntimeError("a polygon vanished when snapping to the grid")
        if abs(sum(f.area for f in faces_of) - polygon.area) > polygon.length * GRID:
            raise RuntimeError("a polygon changed too much when snapping to the grid")
        if len(faces_of) == 1:
            result.append(faces_of[0])
        else:
            result.append(shapely.union_all(faces_of, grid_size=GRID))
    return result


def _centroid(polygon):
    centre = polygon.centroid
    if not polygon.contains(centre):
        centre = polygon.point_on_surface()
    return round(centre.x, 5), round(centre.y, 5)


def _geometry_json(polygon) -> dict:
    from shapely.geometry.polygon import orient

    def ring(coords):
        return [[round(x, 5), round(y, 5)] for x, y in coords]

    if polygon.geom_type != "Polygon":
        raise RuntimeError(f"expected a Polygon, got {polygon.geom_type}")
    polygon = orient(polygon, 1.0)  # RFC 7946: exterior counter-clockwise
    return {
        "type": "Polygon",
        "coordinates": [ring(polygon.exterior.coords)]
        + [ring(r.coords) for r in polygon.interiors],
    }


def _township_names(rng) -> dict[str, list[tuple[str, str]]]:
    """{county code: [(name, kind), ...]} with kind 街道/镇/乡; names unique city-wide."""
    urban = list(_URBAN_NAMES)
    rng.shuffle(urban)
    rural = [a + b for a in _RURAL_FIRST for b in _RURAL_SECOND if a + b not in urban]
    order = rng.permutation(len(rural))
    rural = [rural[i] for i in order]
    taken = {c[1][:2] for c in COUNTIES}
    names: dict[str, list[tuple[str, str]]] = {}
    for code, county_name, _centre, _weight, (n_street, n_town, n_xiang) in COUNTIES:
        stem = county_name[:2]
        is_district = county_name.endswith("区")
        entries: list[tuple[str, str]] = []
        for i in range(n_street):
            # a county's seat is the street named after the county
            street = stem if i == 0 and not is_district else urban.pop()
            entries.append((street + "街道", "街道"))
        for kind, count in (("镇", n_town), ("乡", n_xiang)):
            for _ in range(count):
                name = rural.pop()
                while name in taken:
                    name = rural.pop()
                taken.add(name)
                entries.append((name + kind, kind))
        names[code] = entries
    all_names = [n for entries in names.values() for n, _ in entries]
    assert len(set(all_names)) == len(all_names), "township names must be unique"
    return names


def _population(kind: str, urban_county: bool, rng) -> int:
    low, high = {
        ("街道", True): (42_000, 90_000),
        ("镇", True): (25_000, 48_000),
        ("街道", False): (50_000, 88_000),
        ("镇", False): (22_000, 62_000),
        ("乡", False): (15_000, 30_000),
    }[(kind, urban_county)]
    return int(round(rng.uniform(low, high), -2))


def build_geography(path: str | Path | None = GEOJSON_PATH, seed: int = BUILD_SEED) -> dict:
    """Build the city map and write it as a GeoJSON FeatureCollection to `path`
    (None: do not write). Returns the FeatureCollection. Needs shapely."""
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    outline = _city_outline(rng)
    county_polys = _county_polygons(outline, rng)
    names = _township_names(rng)

    township_polys = []
    township_meta = []
    for (code, _name, seat, _w, _kinds), county in zip(COUNTIES, county_polys, strict=True):
        entries = names[code]
        cells = _township_polygons(county, len(entries), rng)
        # streets (numbered first, as in real division codes) take the cells nearest
        # the county seat, 乡 the outlying ones
        distance = [shapely.Point(seat).distance(cell.centroid) for cell in cells]
        order = sorted(range(len(cells)), key=distance.__getitem__)
        for number, (i, (t_name, kind)) in enumerate(
            zip(order, entries, strict=True), start=1
        ):
            township_polys.append(cells[i])
            township_meta.append((f"{code}{number:03d}", t_name, kind, code))

    township_polys = _snap_coverage(township_polys)

    features = []
    county_features = []
    township_features = []
    county_geoms = {}
    for code, c_name, _c, weight, _kinds in COUNTIES:
        members = [
            p for p, meta in zip(township_polys, township_meta, strict=True) if meta[3] == code
        ]
        county_geoms[code] = shapely.union_all(members, grid_size=GRID)
        county_features.append((code, c_name, county_geoms[code], weight < 1.0))
    city_geom = shapely.union_all(list(county_geoms.values()), grid_size=GRID)

    populations: dict[str, int] = {}
    urban_flags = {code: urban for code, _n, _g, urban in county_features}
    for polygon, (code, t_name, kind, county_code) in zip(
        township_polys, township_meta, strict=True
    ):
        population = _population(kind, urban_flags[county_code], rng)
        populations[code] = population
        lon, lat = _centroid(polygon)
        township_features.append(
            _feature(code, t_name, "township", county_code, lon, lat, population, polygon)
        )
    for code, c_name, geom, _urban in county_features:
        population = sum(v for k, v in populations.items() if k.startswith(code))
        lon, lat = _centroid(geom)
        features.append(_feature(code, c_name, "county", CITY_CODE, lon, lat, population, geom))
    lon, lat = _centroid(city_geom)
    city = _feature(
        CITY_CODE, CITY_NAME, "city", None, lon, lat, sum(populations.values()), city_geom
    )
    collection = {
        "type": "FeatureCollection",
        "name": "云溪市（虚构示例城市）",
        "features": [city, *features, *township_features],
    }
    validate_geography(collection)
    if path is not None:
        Path(path).write_text(
            json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n",
            encoding="utf-8",
        )
    return collection


def _feature(code, name, level, parent_code, lon, lat, population, polygon) -> dict:
    return {
        "type": "Feature",
        "properties": {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent_code,
            "lon": lon,
            "lat": lat,
            "population": population,
        },
        "geometry": _geometry_json(polygon),
    }


def validate_geography(collection: dict, tolerance: float = 1e-9) -> None:
    """Raise AssertionError unless the polygons are valid, children tile their parent
    and siblings do not overlap (areas in square degrees). Needs shapely."""
    import shapely
    from shapely.geometry import Point, shape

    by_level: dict[str, list[tuple[dict, object]]] = {"city": [], "county": [], "township": []}
    for feature in collection["features"]:
        geom = shape(feature["geometry"])
        props = feature["properties"]
        assert geom.geom_type == "Polygon", props["code"]
        assert geom.is_valid, (props["code"], shapely.is_valid_reason(geom))
        assert geom.contains(Point(props["lon"], props["lat"])), props["code"]
        by_level[props["level"]].append((props, geom))
    assert len(by_level["city"]) == 1
    parents = {"county": by_level["city"], "township": by_level["county"]}
    for level, parent_list in parents.items():
        for parent, parent_geom in parent_list:
            children = [g for p, g in by_level[level] if p["parent_code"] == parent["code"]]
            assert children, parent["code"]
            union = shapely.union_all(children)
            assert union.symmetric_difference(parent_geom).area < tolerance, parent["code"]
        geoms = [g for _p, g in by_level[level]]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i < j:
                assert geoms[i].intersection(geoms[j]).area < tolerance, (i, j)


if __name__ == "__main__":
    built = build_geography()
    counts: dict[str, int] = {}
    for f in built["features"]:
        counts[f["properties"]["level"]] = counts.get(f["properties"]["level"], 0) + 1
    print(f"wrote {GEOJSON_PATH} ({GEOJSON_PATH.stat().st_size:,} bytes): {counts}")
