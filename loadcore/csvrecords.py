"""The record structure of CSV bytes without parsing them: quote-aware counts of fields and
records, in numpy alone. Every CSV reader checks its rows with `check_field_counts` before
parsing, and the results reader splits files into blocks of whole records with `unquoted`;
it has no pandas, because the invoker's worker processes import the results format.
"""

from pathlib import Path

import numpy as np

from loadcore.errors import InputError


def unquoted(raw: np.ndarray, char: str) -> np.ndarray:
    """Offsets of `char` in the CSV bytes `raw` that are outside double quotes."""
    found = np.flatnonzero(raw == ord(char))
    quotes = np.flatnonzero(raw == ord('"'))
    return found[np.searchsorted(quotes, found) % 2 == 0] if quotes.size else found


def record_fields(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start offset and number of fields of every record in `data`, counting only the commas
    and newlines outside quotes (a quoted field may hold both), without parsing."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = unquoted(raw, "\n") + 1
    starts = np.concatenate(([0], ends[ends < raw.size]))
    fields = np.diff(np.searchsorted(unquoted(raw, ","), np.concatenate((starts, [raw.size])))) + 1
    return starts, fields


def check_field_counts(path: Path, data: bytes, expected: int, first_line: int = 1) -> np.ndarray:
    """Reject ragged records (`data` starts at file line `first_line`); return their starts."""
    starts, fields = record_fields(data)
    bad = np.flatnonzero(fields != expected)
    if bad.size:
        record = int(bad[0])
        line = first_line + data[: starts[record]].count(b"\n")
        raise InputError(f"{path}: line {line}: {fields[record]} fields, expected {expected} like the header")
    return starts
