"""A fictional prefecture-level city (云溪市, code 990100) and its petition cases.

- `sample_data.geography`: the city, its 6 counties/districts and 90 townships with
  boundaries. `load_geography()` reads the committed `city.geojson` (plain json, no
  shapely); `build_geography()` (shapely, build time only) regenerates that file:
  `python -m sample_data.geography`.
- `sample_data.generator`: `load_sample(engine, cases=..., seed=..., until=...)` fills an
  empty schema with regions, units, leaders, cases, case units and case events,
  deterministically for a given (cases, seed, until).

Province code 99 does not exist, so every code, name and person here is invented.
"""
