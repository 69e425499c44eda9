"""The DuckDB/Spark mart comparison itself (fast, no Spark): it must catch the divergences the
parity test exists for, and must not flag what is only a different float summation order."""

from __future__ import annotations

import datetime as dt
import decimal

from tests.spark.mart_parity import Table, compare

COLUMNS = ["organization_id", "date", "metric", "value", "n"]
D = dt.date(2026, 5, 1)


def _rows():
    return [
        ("org-a", D, "win_rate_pct", 20.0, 3),
        ("org-a", D, "leads_win_rate_pct", None, 0),
        ("org-b", D + dt.timedelta(days=1), "revenue_won_usd", 300.5, 7),
    ]


def test_identical_up_to_row_and_column_order_and_float_dust():
    left = Table(COLUMNS, _rows())
    # Spark moves partition columns last and returns rows in any order
    right_columns = ["organization_id", "metric", "value", "n", "date"]
    right_rows = [(r[0], r[2], r[3], r[4], r[1]) for r in reversed(_rows())]
    right_rows[0] = ("org-b", "revenue_won_usd", 300.50000000000006, 7, D + dt.timedelta(days=1))
    assert compare("mart", left, Table(right_columns, right_rows)) == []


def test_catches_a_float_beyond_relative_1e_9():
    right = _rows()
    right[2] = ("org-b", D + dt.timedelta(days=1), "revenue_won_usd", 300.5 * (1 + 1e-8), 7)
    problems = compare("mart", Table(COLUMNS, _rows()), Table(COLUMNS, right))
    assert len(problems) == 1 and "value: 300.5 vs" in problems[0]


def test_catches_null_versus_value_division_by_zero_style():
    right = _rows()
    right[1] = ("org-a", D, "leads_win_rate_pct", 0.0, 0)  # NULL on one engine, 0 on the other
    problems = compare("mart", Table(COLUMNS, _rows()), Table(COLUMNS, right))
    assert problems and "value: None vs 0.0" in problems[0]


def test_catches_a_date_shifted_by_a_time_zone():
    right = _rows()
    right[0] = ("org-a", D - dt.timedelta(days=1), "win_rate_pct", 20.0, 3)
    problems = compare("mart", Table(COLUMNS, _rows()), Table(COLUMNS, right))
    assert any("2026-04-30" in p for p in problems)


def test_catches_missing_rows_and_names_them():
    problems = compare("mart", Table(COLUMNS, _rows()), Table(COLUMNS, _rows()[:2]))
    assert problems[0] == "mart: 3 rows in duckdb, 2 in spark"
    assert "only in duckdb" in problems[1] and "org-b" in problems[1]


def test_catches_a_type_change():
    right = [(a, b, c, d, decimal.Decimal(e)) for a, b, c, d, e in _rows()]
    problems = compare("mart", Table(COLUMNS, _rows()), Table(COLUMNS, right))
    assert problems == ["mart.n: type ['int'] in duckdb, ['decimal'] in spark"]


def test_catches_a_renamed_column():
    right_columns = [*COLUMNS[:-1], "count"]
    problems = compare("mart", Table(COLUMNS, _rows()), Table(right_columns, _rows()))
    assert problems == ["mart: columns differ: only in duckdb ['n'], only in spark ['count']"]


def test_timestamps_compare_as_utc():
    aware = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    left = Table(["t"], [(dt.datetime(2026, 5, 1, 10, 0),)])
    assert compare("mart", left, Table(["t"], [(aware,)])) == []
    assert compare("mart", left, Table(["t"], [(dt.datetime(2026, 5, 1, 12, 0),)]))
