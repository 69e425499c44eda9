"""Runs the dbt project's unit tests (`unit_tests:` in the models' YAML): every metric formula
against hand-built rows. dbt needs the parent relations to exist to type the fixtures, so the
project is first built empty (`--empty`) on a scratch warehouse."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.ingestion.schema import ensure_raw_schema
from tests.conftest import run_dbt

pytestmark = pytest.mark.e2e


def test_dbt_unit_tests_pass(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_schema(con)
    built = run_dbt(["build", "--empty", "--exclude-resource-type", "unit_test", "test"], warehouse, tmp_path / "target")
    assert built.returncode == 0, built.stdout[-4000:]
    tested = run_dbt(["test", "--select", "test_type:unit"], warehouse, tmp_path / "target")
    assert tested.returncode == 0, tested.stdout[-6000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 33, f"expected the full unit-test suite, ran {len(unit)}"
    assert all(r["status"] == "pass" for r in unit)
