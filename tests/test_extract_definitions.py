"""The extract assets in the code location: lineage into ingestion, their own job on the daily
schedule, and left out of the file-only refresh."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from orchestration.defs.automation import daily_refresh_schedule
from orchestration.defs.resources import LandingZone

EXTRACTS = {
    "referrals": "referral_snapshots",
    "solutions": "solution_snapshots",
    "marketplace_traffic": "marketplace_traffic",
}


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.mark.parametrize("source", EXTRACTS)
def test_each_extract_asset_feeds_its_ingest_asset(defs, source):
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["extract", source]))
    assert node.group_name == "extract" and node.owners and node.description
    assert node.partitions_def is None  # one extraction per run, whatever the dates
    ingest = graph.get(dg.AssetKey(["raw", EXTRACTS[source]]))
    assert ingest.parent_keys == {dg.AssetKey(["extract", source])}


def _selected(defs, job: str) -> set[str]:
    return {"/".join(k.path) for k in defs.resolve_job_def(job).asset_layer.executable_asset_keys}


def test_only_the_extract_and_refresh_job_extracts(defs):
    extract_keys = {f"extract/{s}" for s in EXTRACTS}
    assert extract_keys <= _selected(defs, "extract_and_refresh")
    assert "raw/referral_snapshots" in _selected(defs, "extract_and_refresh")
    assert "serving/published_marts" in _selected(defs, "extract_and_refresh")
    assert not extract_keys & _selected(defs, "refresh")
    assert not extract_keys & _selected(defs, "transform")


def test_the_daily_schedule_extracts_then_ingests_todays_partition(tmp_path):
    (tmp_path / "referrals").mkdir()
    (tmp_path / "referrals" / "2026-03-02.jsonl").write_text('{"id": "x"}\n')
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 9, 6, 0, tzinfo=dt.UTC),
        resources={"landing_zone": LandingZone(raw_dir=str(tmp_path))},
    )
    request = daily_refresh_schedule(context)
    assert request.job_name == "extract_and_refresh"
    assert request.tags["dagster/asset_partition_range_start"] == "2026-03-02"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-03-09"
