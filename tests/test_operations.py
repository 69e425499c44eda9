"""Operating a refresh end to end, on a tiny hand-built landing zone with a Dagster home in a
temporary folder: the refresh's own alert step reaches real local channels (and a dead Slack
URL does not fail it), every dbt model carries column types and lineage, the marts carry a
freshness policy, `status` reads the run, and repeated refreshes keep the footprint flat."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
from alert_receivers import alert_env, free_port, receivers
from conftest import inbound, solution, write_csv, write_jsonl

from orchestration.quality.widgets import WIDGETS

pytestmark = pytest.mark.e2e

RUNS_KEPT = 1
FAILED_FILE = "solutions/2026-03-09.jsonl.gz"
QUARANTINED_FILE = "referrals/2026-03-09.jsonl"


def land(raw: Path) -> None:
    won = dict(status="Closed", substatus="Won", closedDateTime="2026-03-05T00:00:00Z")
    write_jsonl(raw / "referrals/2026-03-02.jsonl", [inbound("R1"), inbound("R2")])
    write_jsonl(
        raw / QUARANTINED_FILE,
        [inbound("R1", updatedDateTime="2026-03-06T00:00:00Z", **won), inbound("R2"),
         inbound("BAD", status="Bogus")],
    )  # fmt: skip
    write_jsonl(raw / "solutions/2026-03-02.jsonl", [solution()])
    (raw / FAILED_FILE).write_bytes(b"\x1f\x8b\x08\x00truncated")
    write_csv(raw / "marketplace_traffic/2026-03-02.csv", ["2026-03-01,org-a,offer-1,100,5"])


@pytest.fixture(scope="module")
def operated(tmp_path_factory):
    from orchestration.refresh import run_refresh

    tmp = tmp_path_factory.mktemp("ops")
    land(tmp / "raw")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with receivers(tmp) as (web, smtp):
        env = alert_env(web, smtp, slack_url=f"http://127.0.0.1:{free_port()}/slack") | {
            "DAGSTER_HOME": str(home),
            "REFERRAL_INSIGHTS_RETENTION_MAX_RUNS": str(RUNS_KEPT),
            "REFERRAL_INSIGHTS_RETENTION_DBT_TARGET_INVOCATIONS": "1",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            summary = run_refresh(tmp / "raw", tmp / "wh" / "wh.duckdb")
            yield summary, tmp, web, smtp, dg.DagsterInstance.get()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def test_the_refresh_sends_its_incidents_and_a_dead_channel_does_not_fail_it(operated):
    summary, _, web, smtp, instance = operated
    assert summary.success and summary.files_failed == 1
    teams = web.texts("/teams")
    subjects = {m["Subject"].strip().removeprefix("[referral-insights] ") for m in smtp.messages}
    # the landed data is from March 2026, so every source is stale; the truncated gzip failed;
    # 1 of the 3 records of the second referral snapshot was quarantined (33% > 5%)
    stale = sorted(s for s in subjects if s.startswith("No new "))
    assert [s.split(" data for ")[0] for s in stale] == [
        "No new marketplace_traffic", "No new referrals", "No new solutions",
    ]  # fmt: skip
    assert subjects - set(stale) == {
        f"Landed file {FAILED_FILE} failed to load",
        f"33% of {QUARANTINED_FILE} quarantined",
    }
    assert len(teams) == len(subjects) == 5
    failed = next(t for t in teams if FAILED_FILE in t)
    assert summary.run_id in failed and "Solutions outlook" in failed
    assert all(summary.run_id in m.get_content() for m in smtp.messages)
    assert web.texts("/slack") == []  # nothing listens there...
    record = instance.get_latest_materialization_event(dg.AssetKey(["ops", "alerts"]))
    metadata = record.asset_materialization.metadata
    assert [c for c, _ in metadata["channel_failures"].value] == ["slack"]  # ...reported
    assert metadata["open_incidents"].value == 5 and metadata["messages_sent"].value == 10


def _metadata(instance, key: dg.AssetKey) -> dict:
    return instance.get_latest_materialization_event(key).asset_materialization.metadata


def _lineage_leaves(instance, key: dg.AssetKey, column: str) -> set[tuple[str, str]]:
    """The (source table, column) pairs a column derives from, following each model's
    `dagster/column_lineage` upstream to the raw sources."""
    lineage = _metadata(instance, key).get("dagster/column_lineage")
    deps = lineage.value.deps_by_column.get(column, []) if lineage else []
    leaves = set()
    for dep in deps:
        if dep.asset_key.path[0] == "raw":
            leaves.add((dep.asset_key.to_user_string(), dep.column_name))
        else:
            leaves |= _lineage_leaves(instance, dep.asset_key, dep.column_name)
    return leaves


def test_every_model_has_column_types_and_cosell_won_traces_to_the_snapshots(operated):
    from orchestration.defs.dbt import dbt_models

    instance = operated[4]
    models = [k for k in dbt_models.keys if dbt_models.group_names_by_key.get(k) != "reference"]
    assert len(models) > 25
    for key in models:
        schema = _metadata(instance, key)["dagster/column_schema"].value
        assert schema.columns and all(c.type for c in schema.columns), key
    cosell = {c.name: c for c in _metadata(instance, dg.AssetKey(["marts", "mart_cosell_daily"]))["dagster/column_schema"].value.columns}
    assert cosell["won"].type == "BIGINT" and cosell["date"].type == "DATE"
    assert cosell["won"].description  # the YAML docs stay with the types

    # won = referrals of the co-sell category whose current substatus is Won; the category is
    # derived from the referral's type, qualification, direction and who invited it
    leaves = _lineage_leaves(instance, dg.AssetKey(["marts", "mart_cosell_daily"]), "won")
    assert {table for table, _ in leaves} == {"raw/referral_snapshots"}
    assert {"type", "qualification", "direction", "invited_by_organization_id"} <= {
        column for _, column in leaves
    }


def test_marts_carry_a_freshness_policy_and_the_alert_sensors_are_registered():
    from orchestration.definitions import defs
    from orchestration.defs.dbt import MART_FRESHNESS

    graph = defs.resolve_asset_graph()
    # the eleven widget marts (schema marts also holds dim_organizations, the time spine and
    # mart_widget_refresh, which are not widgets)
    widget_marts = {w.mart for w in WIDGETS}
    marts = [k for k in graph.get_all_asset_keys() if k.path[0] == "marts" and k.path[-1] in widget_marts]
    assert len(marts) == 11
    for key in marts:
        policy = graph.get(key).freshness_policy
        assert policy == MART_FRESHNESS, key
    assert MART_FRESHNESS.fail_window.to_timedelta().total_seconds() == 48 * 3600
    for name in ("refresh_failure_alert", "incident_alerts"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    assert {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "ops"} == {
        "ops/alerts", "ops/retention",
    }  # fmt: skip


def test_status_names_the_run_and_the_failed_file(operated):
    from orchestration.operations.status import collect

    summary, tmp, _, _, instance = operated
    from orchestration.operations.status import last_runs

    status = collect(tmp / "wh" / "wh.duckdb", runs=last_runs(instance))
    assert status.last_run["run_id"] == summary.run_id and status.last_run["status"] == "SUCCESS"
    assert status.exit_code == 1  # warnings (quarantine, a failed file, stale data), no failure
    assert status.files == {"failed": 1, "loaded": 4}
    assert status.quarantine == {"referrals": 1}
    assert [f["file"] for f in status.files_not_loaded] == [FAILED_FILE]
    assert len(status.widgets) == 11 and {w.status for w in status.widgets} == {"warning"}


def _footprint(tmp: Path) -> dict:
    """Bytes and files outside the data itself: the warehouse folder without the DuckDB files
    and the published Parquet versions (bounded by count, checked separately), the dbt target
    folders and the Dagster home."""
    def walk(root: Path, skip=lambda p: False):
        files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and not skip(p)]
        return sum(p.stat().st_size for p in files), len(files)

    wh = tmp / "wh"
    target = wh / "wh.duckdb.dbt"  # settings.Settings.dbt_artifacts_dir
    invocations = [p for p in target.iterdir() if p.is_dir() and p.name.startswith("dbt_models-")]
    return {
        "warehouse_dir": walk(
            wh, lambda p: ".duckdb" in p.name or {".published", target.name} & set(p.parts)
        ),
        "published_versions": len(list((wh / ".published").iterdir())),
        "dbt_invocations": len(invocations),
        "dbt_invocation_bytes": sum(walk(p)[0] for p in invocations),
        "dagster_home": walk(tmp / "dagster_home"),
    }


def test_repeated_refreshes_keep_the_footprint_flat(operated, monkeypatch):
    from orchestration.refresh import run_refresh

    summary, tmp, _, _, instance = operated
    # Keep no finished run, only the one in progress: the steady state is then reached by the
    # second refresh (Dagster's event log index peaks at max_runs + 2 runs' worth of events,
    # since a run writes its events before its retention step deletes the oldest).
    monkeypatch.setenv("REFERRAL_INSIGHTS_RETENTION_MAX_RUNS", "0")
    sizes = []
    for _ in range(2):
        again = run_refresh(tmp / "raw", tmp / "wh" / "wh.duckdb", force=True)
        assert again.success
        sizes.append(_footprint(tmp))
    second, third = sizes
    assert third["published_versions"] <= 3  # the publisher's bound
    assert second["dbt_invocations"] == third["dbt_invocations"] == 1
    # only the newest run (it was running when retention ran)
    assert [r.dagster_run.run_id for r in instance.get_run_records()] == [again.run_id]
    for part in ("warehouse_dir", "dagster_home"):
        (bytes2, files2), (bytes3, files3) = second[part], third[part]
        assert files3 == files2, part
        assert bytes3 <= bytes2 * 1.05 + 64_000, (part, bytes2, bytes3)
    assert third["dbt_invocation_bytes"] <= second["dbt_invocation_bytes"] * 1.05 + 64_000
