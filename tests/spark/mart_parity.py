"""Row-for-row comparison of two builds of the same mart (DuckDB vs Spark).

A mart matches when both sides have the same columns (by name: Spark stores partition columns
last, so order is reported but not compared) and the same multiset of rows: rows are sorted on
every column, then compared cell by cell. NULL equals NULL; integers must be equal; a float may
differ by a relative 1e-9 (sums of doubles depend on the order of addition); dates and timestamps
are compared as ISO strings (timestamps as naive UTC); the Python type of each column must agree
(an INTEGER that came back as DOUBLE or DECIMAL is a divergence too).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass

REL_TOL = 1e-9
ABS_TOL = 1e-12  # only for values that should be 0: a sum of doubles may leave ~1e-13 dust
MAX_REPORTED_ROWS = 5


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple]


def _kind(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    return type(value).__name__


def normalise(value):
    """A comparable, printable form of one cell."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return value


def _sort_key(row: tuple, float_positions: set[int]) -> tuple:
    # exact columns first, then floats rounded to 9 significant digits, so that rows whose floats
    # differ within tolerance still sort to the same position
    exact, approximate = [], []
    for i, value in enumerate(row):
        if value is None:
            key = (0, "")
        elif i in float_positions:
            key = (1, float(f"{value:.9g}")) if math.isfinite(value) else (2, str(value))
        else:
            key = (1, value)
        (approximate if i in float_positions else exact).append(key)
    return (*exact, *approximate)


def cells_equal(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) or isinstance(right, float):
        if not isinstance(left, int | float) or not isinstance(right, int | float):
            return False
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return left == right


def compare(
    name: str, left: Table, right: Table, left_label="duckdb", right_label="spark"
) -> list[str]:
    """Differences between two builds of mart `name`, as readable lines (empty: identical)."""
    problems: list[str] = []
    if set(left.columns) != set(right.columns):
        only_left = [c for c in left.columns if c not in right.columns]
        only_right = [c for c in right.columns if c not in left.columns]
        return [
            f"{name}: columns differ: only in {left_label} {only_left}, only in {right_label} {only_right}"
        ]
    columns = left.columns
    positions = [right.columns.index(c) for c in columns]
    left_rows = [tuple(normalise(v) for v in row) for row in left.rows]
    right_rows = [tuple(normalise(row[i]) for i in positions) for row in right.rows]

    for i, column in enumerate(columns):
        left_kinds = {_kind(row[i]) for row in left.rows} - {None}
        right_kinds = {_kind(row[positions[i]]) for row in right.rows} - {None}
        if left_kinds and right_kinds and left_kinds != right_kinds:
            problems.append(
                f"{name}.{column}: type {sorted(left_kinds)} in {left_label}, "
                f"{sorted(right_kinds)} in {right_label}"
            )
    float_positions = {
        i
        for i in range(len(columns))
        if any(isinstance(row[i], float) for row in left_rows + right_rows)
    }
    if len(left_rows) != len(right_rows):
        problems.append(
            f"{name}: {len(left_rows)} rows in {left_label}, {len(right_rows)} in {right_label}"
        )
    left_rows.sort(key=lambda r: _sort_key(r, float_positions))
    right_rows.sort(key=lambda r: _sort_key(r, float_positions))

    if len(left_rows) == len(right_rows):
        reported = 0
        for index, (lrow, rrow) in enumerate(zip(left_rows, right_rows, strict=True)):
            differing = [
                f"{column}: {lv!r} vs {rv!r}"
                for column, lv, rv in zip(columns, lrow, rrow, strict=True)
                if not cells_equal(lv, rv)
            ]
            if differing:
                if reported < MAX_REPORTED_ROWS:
                    problems.append(
                        f"{name} row {index} ({left_label} vs {right_label}): "
                        + "; ".join(differing)
                        + f"\n    {left_label}: {dict(zip(columns, lrow, strict=True))}"
                        + f"\n    {right_label}: {dict(zip(columns, rrow, strict=True))}"
                    )
                reported += 1
        if reported > MAX_REPORTED_ROWS:
            problems.append(f"{name}: {reported - MAX_REPORTED_ROWS} more differing rows")
    else:
        # show rows present on one side only (exact match on the rounded sort key)
        left_keys = [_sort_key(r, float_positions) for r in left_rows]
        right_keys = [_sort_key(r, float_positions) for r in right_rows]
        for label, rows, keys, other in (
            (left_label, left_rows, left_keys, right_keys),
            (right_label, right_rows, right_keys, left_keys),
        ):
            remaining = {}
            for key in other:
                remaining[key] = remaining.get(key, 0) + 1
            only = []
            for row, key in zip(rows, keys, strict=True):
                if remaining.get(key):
                    remaining[key] -= 1
                else:
                    only.append(row)
            for row in only[:MAX_REPORTED_ROWS]:
                problems.append(f"{name}: only in {label}: {dict(zip(columns, row, strict=True))}")
    return problems
