"""A new warehouse's dbt parse runs beside ingestion (orchestration/defs/dbt.py start_parse_ahead):
the parse state it leaves must be one dbt accepts for that warehouse's builds, without re-parsing
the whole project."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from orchestration import settings
from orchestration.defs import dbt as dbt_defs
from orchestration.defs.dbt_project import DBT_EXECUTABLE

pytestmark = pytest.mark.e2e


def _dbt_parse_log(config: settings.Settings, target: Path) -> str:
    """`dbt parse` as the build runs it for this warehouse (same target and --vars), seeded with
    the warehouse's kept parse state; its debug log says whether it parsed partially."""
    target.mkdir(parents=True)
    kept = config.dbt_artifacts_dir / dbt_defs.PARTIAL_PARSE
    (target / dbt_defs.PARTIAL_PARSE).write_bytes(kept.read_bytes())
    project = str(settings.DBT_PROJECT_DIR)
    done = subprocess.run(
        [DBT_EXECUTABLE, "--debug", "parse", "--target", config.dbt_target,
         "--vars", json.dumps(config.dbt_vars())],
        cwd=project, capture_output=True, text=True, timeout=300,
        env=os.environ | {"DBT_PROJECT_DIR": project, "DBT_PROFILES_DIR": project,
                          "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target),
                          "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_parse_ahead_leaves_a_parse_state_the_build_accepts(tmp_path):
    config = settings.load().for_warehouse(tmp_path / "wh" / "warehouse.duckdb")
    assert dbt_defs.start_parse_ahead(config)
    assert not dbt_defs.start_parse_ahead(config)  # one at a time per warehouse
    dbt_defs.finish_parse_ahead(config)

    artifacts = config.dbt_artifacts_dir
    assert (artifacts / dbt_defs.PARTIAL_PARSE).is_file()
    assert not list(artifacts.glob("parse-ahead-*"))  # its folder is removed
    assert not config.warehouse.exists()  # parsing never opened (or created) the warehouse
    # with a kept parse state there is nothing to parse ahead
    assert not dbt_defs.start_parse_ahead(config)

    log = _dbt_parse_log(config, tmp_path / "target")
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log


def test_another_warehouse_cannot_reuse_the_parse_state(tmp_path):
    """What the parse ahead saves: dbt rejects the state of another warehouse's --vars and
    profile (the test above would be vacuous if dbt accepted any parse state)."""
    first = settings.load().for_warehouse(tmp_path / "a" / "warehouse.duckdb")
    dbt_defs.start_parse_ahead(first)
    dbt_defs.finish_parse_ahead(first)
    other = settings.load().for_warehouse(tmp_path / "b" / "warehouse.duckdb")
    kept = other.dbt_artifacts_dir / dbt_defs.PARTIAL_PARSE
    kept.parent.mkdir(parents=True)
    kept.write_bytes((first.dbt_artifacts_dir / dbt_defs.PARTIAL_PARSE).read_bytes())

    log = _dbt_parse_log(other, tmp_path / "target")
    assert "Unable to do partial parsing" in log
