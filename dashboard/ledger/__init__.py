"""Ledger import (信访事项台账): read a spreadsheet as bureaus really send it, within hard
limits (`reading`); map its columns and words (`mapping`); parse (`parsing`) and
validate (`validation`) every row so that one bad cell refuses one row; upsert the
valid rows by case number in one transaction (`writing`); export cases as a ledger
(`export`). Rejected rows are reported (row, column, value, reason, in Chinese;
personal data masked) and written to a file that can be fixed and imported again.

The names below are the public API (pages, command line, actions, region import)."""

from dashboard.ledger.export import ledger_frame
from dashboard.ledger.fields import (
    CODE_LABELS,
    FIELDS,
    PERSONAL,
    REQUIRED,
    ImportResult,
    LedgerError,
    Rejection,
    RowWarning,
    clean,
    fold,
    header_key,
    name_key,
)
from dashboard.ledger.mapping import (
    find_header,
    header_names,
    load_mapping,
    load_values,
    mapping_toml,
    word_key,
)
from dashboard.ledger.parsing import parse_bool, parse_code, parse_count, parse_date
from dashboard.ledger.reading import FORMULA, Limits, read_csv, read_table, size_text, too_big
from dashboard.ledger.validation import KEEP_UNKNOWN, unknown_words
from dashboard.ledger.writing import import_ledger, rejected_csv

__all__ = [
    "CODE_LABELS", "FIELDS", "FORMULA", "KEEP_UNKNOWN", "PERSONAL", "REQUIRED", "ImportResult", "LedgerError",
    "Limits", "Rejection", "RowWarning", "clean", "find_header", "fold", "header_key", "header_names",
    "import_ledger", "ledger_frame", "load_mapping", "load_values", "mapping_toml", "name_key", "parse_bool",
    "parse_code", "parse_count", "parse_date", "read_csv", "read_table", "rejected_csv", "size_text", "too_big", "unknown_words",
    "word_key",
]
