"""Safe exports: what every Excel/CSV file the product writes goes through."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Keep spreadsheet programs from running cell text as a formula (CSV/formula
    injection): such text gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value
