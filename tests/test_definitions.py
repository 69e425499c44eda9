"""The code location loads, validates, and its asset graph links each raw source to the marts it
feeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration import settings
from tests.widget_exposures import read_exposures

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("defs")
    os.environ.setdefault(settings.RAW_DIR_ENV, str(tmp / "raw"))
    os.environ.setdefault(settings.WAREHOUSE_ENV, str(tmp / "wh.duckdb"))
    from orchestration.definitions import defs

    return defs


@pytest.mark.e2e
def test_dagster_definitions_validate(tmp_path):
    env = os.environ | {
        settings.RAW_DIR_ENV: str(tmp_path / "raw"),
        settings.WAREHOUSE_ENV: str(tmp_path / "wh.duckdb"),
        "DAGSTER_HOME": str(tmp_path),
    }
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _graph(defs):
    return defs.resolve_asset_graph()


def _upstream(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


FEEDS = {
    "referral_snapshots": [
        "mart_referrals_daily", "mart_cosell_daily", "mart_leads_daily", "mart_referral_distribution",
        "mart_qrp_monthly_kpis", "mart_qrp_kpi_history", "mart_acceptance_time_distribution",
        "mart_win_time_distribution", "mart_revenue_daily", "mart_overview_summary",
    ],
    "referral_registrations": ["mart_revenue_daily", "mart_overview_summary"],
    "solution_snapshots": ["mart_solutions_outlook"],
    "marketplace_traffic": ["mart_leads_daily", "mart_overview_summary"],
}


@pytest.mark.parametrize("source", FEEDS)
def test_each_raw_source_reaches_the_marts_it_feeds(defs, source):
    graph = _graph(defs)
    raw_key = dg.AssetKey(["raw", source])
    assert graph.get(raw_key).is_materializable, "raw tables are produced by ingest assets"
    for mart in FEEDS[source]:
        mart_key = next(k for k in graph.get_all_asset_keys() if k.path[-1] == mart)
        assert raw_key in _upstream(graph, mart_key), f"{source} does not reach {mart}"


# The raw table of each landing-zone source (orchestration/quality/widgets.py SOURCES).
RAW_TABLE_OF_SOURCE = {
    "referrals": "referral_snapshots",
    "solutions": "solution_snapshots",
    "marketplace_traffic": "marketplace_traffic",
}


def test_each_widget_is_fed_by_the_sources_its_meta_names(defs):
    """The `feeding_sources` of each mart's dbt meta are true of the lineage."""
    from orchestration.quality.widgets import WIDGETS as MART_WIDGETS

    graph = _graph(defs)
    assert set(RAW_TABLE_OF_SOURCE) == {s for w in MART_WIDGETS for s in w.sources}
    for widget in MART_WIDGETS:
        mart_key = next(k for k in graph.get_all_asset_keys() if k.path[-1] == widget.mart)
        upstream = _upstream(graph, mart_key)
        for source in widget.sources:
            raw_key = dg.AssetKey(["raw", RAW_TABLE_OF_SOURCE[source]])
            assert raw_key in upstream, f"{source} does not feed {widget.mart}"


def test_groups_owners_and_descriptions(defs):
    graph = _graph(defs)
    groups = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        groups.setdefault(node.group_name, set()).add(key.path[-1])
        assert node.owners, f"{key} has no owner"
        assert node.description, f"{key} has no description"
    assert {"ingest", "staging", "intermediate", "marts"} <= set(groups)
    assert {"referral_snapshots", "solution_snapshots", "marketplace_traffic"} <= groups["ingest"]
    assert "mart_overview_summary" in groups["marts"]


def test_dbt_tests_are_asset_checks_on_marts(defs):
    graph = _graph(defs)
    checked = {key.asset_key.path[-1] for key in graph.asset_check_keys}
    assert "mart_qrp_monthly_kpis" in checked and "mart_overview_summary" in checked


def test_jobs_schedule_and_sensor(defs):
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"refresh", "transform"}
    assert defs.resolve_schedule_def("daily_refresh_schedule").cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("landed_files_sensor") is not None


# The widgets and the marts each reads, as their dbt exposures define them (checked against the
# marts' meta and the dashboard's catalog in tests/test_widget_definitions.py).
WIDGETS = {e.name: e.marts for e in read_exposures()}


def test_each_widget_reads_its_marts_and_reaches_back_to_raw(defs):
    graph = _graph(defs)
    assert len(WIDGETS) == 9
    assert {k.path[-1] for k in graph.get_all_asset_keys() if k.path[0] == "dashboard"} == set(
        WIDGETS
    )
    for widget, marts in WIDGETS.items():
        key = dg.AssetKey(["dashboard", widget])
        parents = {k.path[-1] for k in graph.get(key).parent_keys}
        assert parents == set(marts), widget
        assert dg.AssetKey(["raw", "referral_snapshots"]) in _upstream(graph, key)


def test_publish_runs_after_every_mart(defs):
    graph = _graph(defs)
    upstream = {k.path[-1] for k in _upstream(graph, dg.AssetKey(["serving", "published_marts"]))}
    assert {m for marts in WIDGETS.values() for m in marts} <= upstream


def test_dbt_resource_skips_version_subprocess_and_in_process_adapter(monkeypatch):
    """The dbt resource knows the installed dbt-core's version without running `dbt --version`,
    and hands no in-process adapter to invocations (issue 6: ~3 s per build)."""
    from importlib.metadata import version

    from dagster_dbt.core import resource as dbt_resource_module

    from orchestration.defs.resources import build_resources

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt resource ran a subprocess: {args}")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_subprocess)
    dbt = build_resources()["dbt"]
    assert str(dbt._cli_version) == version("dbt-core")
    assert dbt._initialize_dbt_core_adapter(["build"]) is None
