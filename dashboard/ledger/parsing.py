"""Parsing one cell: dates as ledgers write them, 是/否, counts, and the words of the
coded columns (built-in variants plus the mapping file's `[values.<field>]`)."""

from __future__ import annotations

import datetime as dt
import functools
import re

from dashboard.ledger.fields import CODE_WORDS, FALSE_WORDS, TRUE_WORDS, fold
from dashboard.ledger.mapping import word_key

EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


@functools.lru_cache(maxsize=65536, typed=True)
def parse_date(value) -> dt.date | None:
    """2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日, 20210305, Excel serials, datetimes.
    Returns None for an empty cell; raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # Excel serial day numbers (1954–2119)
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        if 19000101 <= value <= 21001231:
            value = str(int(value))
        else:
            raise ValueError
    text = fold(value)
    if not text:
        return None
    if re.fullmatch(r"\d{8}", text):
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_date(float(text))
    match = DATE_PATTERN.match(text)
    if not match:
        raise ValueError
    return dt.date(*(int(part) for part in match.groups()))


@functools.lru_cache(maxsize=4096)
def parse_bool(value) -> bool:
    text = re.sub(r"\s+", "", fold(value)).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError


# The built-in words of each coded column, compared as `word_key` (spaces, full-width
# forms and case ignored), codes included.
_WORDS = {kind: {**{word_key(code): code for code in words.values() if code},
                 **{word_key(word): code for word, code in words.items()}}
          for kind, words in CODE_WORDS.items()}


@functools.lru_cache(maxsize=4096)
def parse_code(kind: str, value) -> str | None:
    """The code of a word of a coded column (None: empty); ValueError for a word that
    is none of the known ones."""
    key = word_key(value)
    words = _WORDS[kind]
    if key in words:
        return words[key]
    raise ValueError


MAX_PERSONS = 10_000


def parse_count(value) -> int:
    """人数: a whole number from 1 to 10,000 (3, 3.0, ３); an empty cell is 1. Anything
    else (negative, 0, 1e30, 20 digits, text) raises ValueError, never OverflowError."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        if not -1e9 < value < 1e9:
            raise ValueError
        number = int(value)
    else:
        text = fold(value)
        if not text:
            return 1
        if not re.fullmatch(r"[+-]?\d{1,9}(\.0*)?", text):
            raise ValueError
        number = int(text.split(".")[0])
    if not 1 <= number <= MAX_PERSONS:
        raise ValueError
    return number

