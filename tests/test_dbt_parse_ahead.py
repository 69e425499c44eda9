"""A new warehouse's dbt parse runs beside ingestion (orchestration/dbt_parse_state.py):
the parse state it leaves must be one dbt accepts for that warehouse's builds, without re-parsing
the whole project."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from orchestration import dbt_parse_state as parse_state
from orchestration import settings
from tests.conftest import run_dbt

pytestmark = pytest.mark.e2e


def _dbt_parse_log(config: settings.Settings, target: Path) -> str:
    """`dbt parse` as the build runs it for this warehouse (same target and --vars), seeded with
    the warehouse's kept parse state; its debug log says whether it parsed partially."""
    target.mkdir(parents=True)
    kept = config.dbt_artifacts_dir / parse_state.PARTIAL_PARSE
    (target / parse_state.PARTIAL_PARSE).write_bytes(kept.read_bytes())
    done = run_dbt(
        ["parse", "--debug", "--target", config.dbt_target, "--vars", json.dumps(config.dbt_vars())],
        config.warehouse,
        target,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_parse_ahead_leaves_a_parse_state_the_build_accepts(tmp_path):
    config = settings.load().for_warehouse(tmp_path / "wh" / "warehouse.duckdb")
    assert parse_state.start_parse_ahead(config)
    assert not parse_state.start_parse_ahead(config)  # one at a time per warehouse
    process, _ = parse_state._parses_ahead[config.warehouse]
    if shutil.which("nice"):  # at the lowest CPU priority: ingestion keeps the cores
        # (`nice` sets it, then becomes dbt)
        deadline = time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, process.pid) != 19 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == 19
    parse_state.finish_parse_ahead(config)

    artifacts = config.dbt_artifacts_dir
    assert (artifacts / parse_state.PARTIAL_PARSE).is_file()
    assert not list(artifacts.glob("parse-ahead-*"))  # its folder is removed
    assert not config.warehouse.exists()  # parsing never opened (or created) the warehouse
    # with a kept parse state there is nothing to parse ahead
    assert not parse_state.start_parse_ahead(config)

    log = _dbt_parse_log(config, tmp_path / "target")
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log


def test_another_warehouse_cannot_reuse_the_parse_state(tmp_path):
    """What the parse ahead saves: dbt rejects the state of another warehouse's --vars and
    profile (the test above would be vacuous if dbt accepted any parse state)."""
    first = settings.load().for_warehouse(tmp_path / "a" / "warehouse.duckdb")
    parse_state.start_parse_ahead(first)
    parse_state.finish_parse_ahead(first)
    other = settings.load().for_warehouse(tmp_path / "b" / "warehouse.duckdb")
    kept = other.dbt_artifacts_dir / parse_state.PARTIAL_PARSE
    kept.parent.mkdir(parents=True)
    kept.write_bytes((first.dbt_artifacts_dir / parse_state.PARTIAL_PARSE).read_bytes())

    log = _dbt_parse_log(other, tmp_path / "target")
    assert "Unable to do partial parsing" in log
