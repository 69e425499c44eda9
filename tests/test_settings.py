"""One settings object (orchestration/settings.py), read from the environment in one place, and
handed to dbt as --vars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration import dbt_cli, settings
from orchestration.settings import Settings


def test_defaults_without_any_variable():
    config = Settings.from_env({})
    assert config.raw_dir == settings.PROJECT_ROOT / "data" / "raw"
    assert (
        config.warehouse
        == settings.PROJECT_ROOT / "data" / "warehouse" / "referral_insights.duckdb"
    )
    assert config.dbt_target == "duckdb" and not config.spark_target
    assert config.duckdb_spill_dir is None
    # a quarter of the machine's memory, at most 2 GiB
    limit = int(config.duckdb_memory_limit.removesuffix("MB"))
    assert 0 < limit <= 2048


def test_every_variable_is_read_and_relative_paths_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Settings.from_env(
        {
            settings.RAW_DIR_ENV: "landing",
            settings.WAREHOUSE_ENV: "wh/w.duckdb",
            settings.DBT_TARGET_ENV: "spark",
            settings.DUCKDB_MEMORY_LIMIT_ENV: "700MB",
            settings.DUCKDB_SPILL_DIR_ENV: "spill",
            settings.RAW_PARQUET_DIR_ENV: "pq",
            settings.SPARK_DIR_ENV: "sp",
            settings.SPARK_RAW_LOCATION_ENV: "s3a://bucket/raw_parquet",
            settings.ORGANIZATION_DATABASES_ENV: "org-a,org-b",
            "REFERRAL_INSIGHTS_UNRELATED": "ignored",
        }
    )
    assert config.raw_dir == tmp_path / "landing"
    assert config.warehouse == tmp_path / "wh" / "w.duckdb"
    assert config.spark_target
    assert config.duckdb_memory_limit == "700MB"
    assert config.duckdb_spill_dir == tmp_path / "spill"
    assert config.organization_databases == "org-a,org-b"
    assert config.dbt_vars() == {
        "warehouse_path": str(tmp_path / "wh" / "w.duckdb"),
        "duckdb_memory_limit": "700MB",
        "spark_raw_location": "s3a://bucket/raw_parquet",
        "spark_dir": str(tmp_path / "sp"),
    }
    assert config.raw_parquet_location == str(tmp_path / "pq")


def test_spark_paths_default_to_beside_the_warehouse_of_the_run(tmp_path):
    config = Settings.from_env({}).for_warehouse(tmp_path / "a" / "w.duckdb")
    assert config.raw_parquet_location == str(tmp_path / "a" / "raw_parquet")
    assert config.dbt_vars()["spark_raw_location"] == str(tmp_path / "a" / "raw_parquet")
    assert config.dbt_vars()["spark_dir"] == str(tmp_path / "a" / "spark")


def test_a_uri_raw_parquet_dir_is_kept_as_given():
    config = Settings.from_env({settings.RAW_PARQUET_DIR_ENV: "s3://bucket/raw"})
    assert config.raw_parquet_location == "s3://bucket/raw"


def test_settings_are_immutable():
    with pytest.raises(Exception, match="frozen"):
        Settings.from_env({}).warehouse = Path("/elsewhere")


def test_the_project_dbt_command_adds_the_settings_as_vars(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.WAREHOUSE_ENV, str(tmp_path / "w.duckdb"))
    args = dbt_cli.with_project_vars(["build", "--select", "marts"])
    assert args[:3] == ["build", "--select", "marts"] and args[3] == "--vars"
    assert json.loads(args[4])["warehouse_path"] == str(tmp_path / "w.duckdb")
    # a command with its own --vars (the Dagster dbt step) and one that parses nothing: unchanged
    own = ["build", "--vars", '{"warehouse_path": "/x"}']
    assert dbt_cli.with_project_vars(own) == own
    assert dbt_cli.with_project_vars(["--version"]) == ["--version"]
    assert dbt_cli.with_project_vars(["deps"]) == ["deps"]
