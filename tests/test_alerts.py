"""Incident alerts, the status report and retention on hand-built warehouses, with real local
receivers: an HTTP server for the Teams and Slack webhooks and an SMTP server that requires
STARTTLS and a login (tests/alert_receivers.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import duckdb
import pytest
from alert_receivers import alert_env, free_port, receivers

from orchestration.ingestion.schema import ensure_raw_schema
from orchestration.operations import retention
from orchestration.operations.alerts import STATE_TABLE, check_and_notify, detect_incidents
from orchestration.operations.channels import AlertConfig
from orchestration.operations.status import collect, render
from orchestration.quality import widget_refresh

TODAY = dt.date(2026, 11, 30)
FAILED = {
    "expectation_type": "expect_column_values_to_be_between",
    "arguments": "win_rate_pct, 0..100",
    "level": "error",
    "unexpected": "1 of 10 rows",
    "description": "expect_column_values_to_be_between(win_rate_pct, 0..100) [error: 1 of 10 rows]",
}
FILES = [  # source, file, snapshot, status, loaded, quarantined, error
    ("referrals", "referrals/2026-11-16.jsonl", "2026-11-16", "loaded", 100, 0, None),
    ("referrals", "referrals/2026-11-23.jsonl", "2026-11-23", "loaded", 9, 1, None),
    ("referrals", "referrals/2026-12-07.jsonl", "2026-12-07", "waiting", 0, 0, "snapshot date is in the future"),
    ("solutions", "solutions/2026-11-02.jsonl", "2026-11-02", "loaded", 5, 0, None),
    ("solutions", "solutions/2026-11-23.jsonl.gz", "2026-11-23", "failed", 0, 0, "not a gzip file"),
    ("marketplace_traffic", "marketplace_traffic/2026-11-23.csv", "2026-11-23", "loaded", 7, 0, None),
]  # fmt: skip
# What the warehouse above holds, worked out by hand: the failed widget; the failed and the
# waiting file; 1 of 10 records quarantined in referrals/2026-11-23 (10% > 5%); solutions' newest
# loaded snapshot 2026-11-02 is 28 days old (> 8). referrals (7 days) and traffic are fresh.
EXPECTED = {
    "widget_failed:mart_cosell_daily",
    "file_failed:solutions/2026-11-23.jsonl.gz",
    "file_waiting:referrals/2026-12-07.jsonl",
    "quarantine:referrals/2026-11-23.jsonl",
    "stale:solutions",
}


def build_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        ensure_raw_schema(con)
        con.execute("create schema marts")
        con.execute("create schema quality")
        for ddl in widget_refresh._DDL:
            con.execute(ddl)
        at = dt.datetime(2026, 11, 30, 6, 0)
        con.executemany(
            "insert into marts.mart_widget_refresh values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("Co-sell opportunities", "mart_cosell_daily", at, TODAY, 10, 12, 1, 1, "failed", FAILED["description"]),
                ("Referrals", "mart_referrals_daily", at, TODAY, 40, 12, 0, 1, "warning", ""),
                ("Solutions outlook", "mart_solutions_outlook", at, TODAY, 3, 9, 0, 0, "ok", ""),
            ],
        )  # fmt: skip
        con.execute(
            "insert into quality.gx_validation_results (mart, widget, validated_at, run_name, "
            "status, success, evaluated_expectations, successful_expectations, "
            "unsuccessful_expectations, failed_expectations) values "
            "('mart_cosell_daily', 'Co-sell opportunities', ?, 'run-abc-123', 'failed', false, "
            "12, 11, 1, ?)",
            [at, json.dumps([FAILED])],
        )
        con.executemany(
            "insert into raw.ingested_files values (?, ?, ?, 1000, 42, ?, ?, ?, ?, now()::timestamp)",
            FILES,
        )
        con.execute(
            "insert into raw.quarantine values ('referrals', 'referrals/2026-11-23.jsonl', 4, "
            "'status', 'not an accepted value', '{}', now()::timestamp)"
        )
    return path


@pytest.fixture
def warehouse(tmp_path):
    return build_warehouse(tmp_path / "wh.duckdb")


@pytest.fixture
def live(tmp_path, monkeypatch):
    with receivers(tmp_path) as (web, smtp):
        yield web, smtp, monkeypatch


def sql(warehouse: Path, statement: str, *params):
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(statement, list(params)).fetchall()


def notify_now(warehouse: Path, config: AlertConfig):
    with duckdb.connect(str(warehouse)) as con:
        return check_and_notify(con, config, today=TODAY, run_id="run-now-1")


def configured(web, smtp, monkeypatch, **kw) -> AlertConfig:
    env = alert_env(web, smtp, **kw)
    monkeypatch.setenv("SSL_CERT_FILE", env.pop("SSL_CERT_FILE"))
    return AlertConfig.from_env(env)


def test_incidents_found_in_the_bookkeeping(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        incidents = {i.key: i for i in detect_incidents(con, AlertConfig(), TODAY)}
    assert set(incidents) == EXPECTED
    assert incidents["widget_failed:mart_cosell_daily"].run_id == "run-abc-123"
    assert incidents["stale:solutions"].subject == "No new solutions data for 28 days"
    quarantine = incidents["quarantine:referrals/2026-11-23.jsonl"]
    assert "1 of 10 records quarantined (10.0%, threshold 5%)" in quarantine.lines[0]
    assert "Reason: status: not an accepted value (1)" in quarantine.lines
    # a higher threshold or a longer freshness window closes those two
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lenient = AlertConfig(quarantine_share=0.1, max_data_age_days=28)
        assert {i.key for i in detect_incidents(con, lenient, TODAY)} == EXPECTED - {
            "quarantine:referrals/2026-11-23.jsonl",
            "stale:solutions",
        }


@pytest.mark.e2e  # local HTTP and SMTP servers
def test_each_incident_is_sent_once_to_each_channel(warehouse, live):
    web, smtp, monkeypatch = live
    config = configured(web, smtp, monkeypatch)
    assert [c.name for c in config.channels()] == ["teams", "slack", "email"]

    first = notify_now(warehouse, config)
    assert not first.failed
    assert len(first.sent) == 3 * len(EXPECTED)
    for path in ("/teams", "/slack"):
        texts = web.texts(path)
        assert len(texts) == len(EXPECTED)
        widget = next(t for t in texts if "Co-sell opportunities" in t)
        assert "failed validation" in widget and "win_rate_pct, 0..100" in widget
        assert "run-abc-123" in widget  # the validation's run
        file = next(t for t in texts if "solutions/2026-11-23.jsonl.gz" in t)
        assert "not a gzip file" in file and "run-now-1" in file  # the run that found it
    mails = {m["Subject"]: m for m in smtp.messages}
    assert len(mails) == len(EXPECTED)
    mail = mails["[referral-insights] Widget 'Co-sell opportunities' failed validation"]
    assert mail["To"] == "ops@example.test, data@example.test"
    assert mail["From"] == "pipeline@example.test"
    body = mail.get_content()
    assert "Mart: mart_cosell_daily" in body and FAILED["description"] in body
    assert "Run: run-abc-123" in body

    # nothing changed: nothing is sent again
    again = notify_now(warehouse, config)
    assert again.sent == [] and len(web.posts) == 2 * len(EXPECTED)
    assert len(smtp.messages) == len(EXPECTED)

    # another expectation fails on the same widget: one new message per channel
    other = FAILED | {"arguments": "won, 0..", "description": "expect_column_min_to_be_between(won, 0..)"}
    sql(warehouse, "update quality.gx_validation_results set failed_expectations = ?", json.dumps([other]))
    changed = notify_now(warehouse, config)
    assert sorted(changed.sent) == [
        (channel, "widget_failed:mart_cosell_daily") for channel in ("email", "slack", "teams")
    ]
    assert "won, 0.." in web.texts("/slack")[-1]

    # the file is re-landed and loads: resolved and forgotten, and solutions are fresh again
    # (newest snapshot 2026-11-23, 7 days); when it fails again, both are news again
    sql(warehouse, "update raw.ingested_files set status = 'loaded', error = null where status = 'failed'")
    resolved = notify_now(warehouse, config)
    assert resolved.resolved == ["file_failed:solutions/2026-11-23.jsonl.gz", "stale:solutions"]
    assert resolved.sent == []
    sql(warehouse, "update raw.ingested_files set status = 'failed' where file_name = 'solutions/2026-11-23.jsonl.gz'")
    assert sorted({key for _, key in notify_now(warehouse, config).sent}) == [
        "file_failed:solutions/2026-11-23.jsonl.gz", "stale:solutions",
    ]  # fmt: skip


@pytest.mark.e2e
def test_an_unreachable_channel_is_reported_and_retried_never_raised(warehouse, live):
    web, smtp, monkeypatch = live
    closed = f"http://127.0.0.1:{free_port()}/slack"  # nothing listens there
    down = configured(web, smtp, monkeypatch, slack_url=closed)
    result = notify_now(warehouse, down)
    assert [channel for channel, _ in result.failed] == ["slack"]  # tried once, then skipped
    assert len(web.texts("/teams")) == len(EXPECTED) and len(smtp.messages) == len(EXPECTED)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f"select count(*) from {STATE_TABLE} where channel = 'slack'").fetchall() == [(0,)]
    # the channel is back: it gets every open incident, the others nothing new
    back = notify_now(warehouse, configured(web, smtp, monkeypatch))
    assert sorted(c for c, _ in back.sent) == ["slack"] * len(EXPECTED)


def test_no_channel_configured_sends_nothing_and_fails_nothing(warehouse):
    config = AlertConfig.from_env({})
    assert config.channels() == []
    result = notify_now(warehouse, config)
    assert result.sent == [] and result.failed == [] and len(result.open) == len(EXPECTED)


def test_settings_from_the_environment():
    config = AlertConfig.from_env(
        {
            "REFERRAL_INSIGHTS_ALERT_SMTP_HOST": "mail.example.test",
            "REFERRAL_INSIGHTS_ALERT_SMTP_PORT": "2525",
            "REFERRAL_INSIGHTS_ALERT_SMTP_RECIPIENTS": "a@example.test, b@example.test,",
            "REFERRAL_INSIGHTS_ALERT_SMTP_STARTTLS": "no",
            "REFERRAL_INSIGHTS_ALERT_QUARANTINE_SHARE": "lots",
            "REFERRAL_INSIGHTS_ALERT_MAX_DATA_AGE_DAYS": "14",
        },
        overrides={"smtp_port": 465},
    )
    assert config.smtp_port == 465  # resource config wins over the environment
    assert config.smtp_recipients == ("a@example.test", "b@example.test")
    assert config.smtp_starttls is False and config.max_data_age_days == 14
    assert config.quarantine_share == 0.05  # unreadable: default kept, reported
    assert config.errors == ("REFERRAL_INSIGHTS_ALERT_QUARANTINE_SHARE: could not convert string to float: 'lots'",)
    (email,) = config.channels()
    assert email.sender == "referral-insights@mail.example.test"


# --- status -------------------------------------------------------------------------------------


def test_status_report_and_exit_codes(warehouse, tmp_path):
    status = collect(warehouse, AlertConfig(), TODAY, runs=(None, None))
    assert (status.exit_code, status.verdict) == (2, "failed")  # a failed widget
    assert [(w.mart, w.status, w.data_age_days) for w in status.widgets] == [
        ("mart_solutions_outlook", "ok", 28),  # newest loaded solutions snapshot 2026-11-02
        ("mart_referrals_daily", "warning", 7),
        ("mart_cosell_daily", "failed", 7),
    ]
    assert status.files == {"failed": 1, "loaded": 4, "waiting": 1}
    assert status.quarantine == {"referrals": 1}
    assert {f["file"] for f in status.files_not_loaded} == {
        "solutions/2026-11-23.jsonl.gz", "referrals/2026-12-07.jsonl",
    }  # fmt: skip
    assert {i["key"] for i in status.incidents} == EXPECTED
    assert status.as_of_date == "2026-11-23"
    text = render(status)
    assert "FAILED (exit 2)" in text
    assert f"failed   Co-sell opportunities (mart_cosell_daily): data 7 days old; 1 quarantined; {FAILED['description']}" in text
    assert "failed   solutions/2026-11-23.jsonl.gz: not a gzip file" in text

    sql(warehouse, "update marts.mart_widget_refresh set status = 'ok'")
    assert collect(warehouse, AlertConfig(), TODAY, runs=(None, None)).exit_code == 1  # incidents open
    sql(warehouse, "delete from raw.ingested_files where status <> 'loaded' or source = 'solutions'")
    sql(warehouse, "delete from raw.quarantine")
    sql(warehouse, "update raw.ingested_files set records_quarantined = 0")
    calm = collect(warehouse, AlertConfig(), TODAY, runs=(None, None))
    assert (calm.exit_code, calm.incidents) == (0, [])
    failed_run = {"run_id": "r-9", "job": "refresh", "status": "FAILURE", "error": "dbt failed"}
    assert collect(warehouse, AlertConfig(), TODAY, runs=(failed_run, None)).exit_code == 2
    assert collect(tmp_path / "none.duckdb", AlertConfig(), TODAY, runs=(None, None)).exit_code == 3


def test_status_command_json(warehouse, monkeypatch, capsys):
    from orchestration.cli import main

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    code = main(["status", "--warehouse", str(warehouse), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2 and report["exit_code"] == 2 and report["verdict"] == "failed"
    assert report["last_run"] is None
    assert {w["mart"]: w["status"] for w in report["widgets"]}["mart_cosell_daily"] == "failed"
    assert report["files"]["waiting"] == 1


# --- retention -----------------------------------------------------------------------------------


def test_dbt_target_keeps_the_newest_invocations(tmp_path):
    target = tmp_path / "target"
    (target / "docs").mkdir(parents=True)
    (target / "manifest.json").write_text("{}")
    now = time.time()
    for i in range(100):  # a hundred refreshes' worth
        folder = target / f"dbt_models-{i:07x}-abcdef0"
        (folder / "compiled").mkdir(parents=True)
        (folder / "manifest.json").write_text("x" * 1000)
        os.utime(folder, (now - 100 + i, now - 100 + i))
    report = retention.prune_dbt_targets(target, keep=3, protect=["0000005"])
    left = sorted(p.name for p in target.iterdir())
    assert left == [
        "dbt_models-0000005-abcdef0",  # the running invocation, although old
        "dbt_models-0000061-abcdef0",
        "dbt_models-0000062-abcdef0",
        "dbt_models-0000063-abcdef0",
        "docs",
        "manifest.json",
    ]
    assert report.removed == {"dbt_target_invocations": 96} and report.bytes_freed == 96_000


def test_spill_files_of_a_killed_run_are_removed(tmp_path):
    spill = tmp_path / "wh.duckdb.tmp"
    spill.mkdir()
    old, fresh = spill / "duckdb_temp_storage-0.tmp", spill / "duckdb_temp_storage-1.tmp"
    old.write_bytes(b"x" * 10)
    fresh.write_bytes(b"y" * 10)
    os.utime(old, (time.time() - 7 * 3600,) * 2)
    report = retention.prune_spill(tmp_path / "wh.duckdb", max_age_hours=6)
    assert not old.exists() and fresh.exists() and report.removed == {"spill_files": 1}


def test_retention_settings_from_the_environment():
    config = retention.RetentionConfig.from_env(
        {"REFERRAL_INSIGHTS_RETENTION_MAX_RUNS": "20", "REFERRAL_INSIGHTS_RETENTION_SPILL_MAX_AGE_HOURS": "1.5"},
        overrides={"run_history_days": 7},
    )
    assert config == retention.RetentionConfig(
        dbt_target_invocations=3, run_history_days=7, max_runs=20, spill_max_age_hours=1.5
    )


@pytest.mark.e2e
def test_old_dagster_runs_are_deleted_with_their_logs(tmp_path):
    import dagster as dg

    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="tiny")])
    def tiny(context):
        print("captured stdout")  # a compute log to remove
        yield dg.Output(None)
        yield dg.AssetCheckResult(passed=True)  # a check execution row in the index

    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    runs = [dg.materialize([tiny], instance=instance).run_id for _ in range(3)]
    shards = Path(instance.event_log_storage.path_for_shard(runs[0])).parent
    assert {f"{r}.db" for r in runs} <= {p.name for p in shards.iterdir()}

    assert (tmp_path / "home" / "storage" / runs[0]).is_dir()  # compute logs

    report = retention.prune_dagster_runs(instance, keep_days=30, max_runs=1)
    assert [r.dagster_run.run_id for r in instance.get_run_records()] == [runs[2]]  # the newest
    assert report.removed == {"dagster_runs": 2} and report.bytes_freed > 0
    check = dg.AssetCheckKey(dg.AssetKey("tiny"), "positive")
    executions = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
    assert [e.run_id for e in executions] == [runs[2]]
    for gone in runs[:2]:
        assert instance.get_run_by_id(gone) is None
        assert not (shards / f"{gone}.db").exists()
        assert not (tmp_path / "home" / "storage" / gone).exists()
    # an age limit: a run older than the window goes unless protected
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    retention.prune_dagster_runs(instance, 30, 100, protect=[runs[2]], now=later)
    assert [r.dagster_run.run_id for r in instance.get_run_records()] == [runs[2]]
    retention.prune_dagster_runs(instance, 30, 100, now=later)
    assert instance.get_run_records() == []


# --- the Dagster sensors ------------------------------------------------------------------------


@pytest.mark.e2e
def test_run_failure_sensor_names_the_run_the_step_and_the_error(live, tmp_path):
    import dagster as dg

    from orchestration.defs.alerts import Alerting, refresh_failure_alert

    web, smtp, monkeypatch = live

    @dg.asset
    def broken():
        raise ValueError("dbt exited with code 2")

    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    job = dg.Definitions(
        assets=[broken], jobs=[dg.define_asset_job("refresh", selection=[broken])]
    ).resolve_job_def("refresh")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    (failure,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="refresh_failure_alert", dagster_event=failure.dagster_event,
        dagster_instance=instance, dagster_run=run,
    ).for_run_failure()  # fmt: skip
    # a dead Slack URL beside a live Teams one: reported, not raised
    alerting = Alerting(
        teams_webhook_url=f"{web.url}/teams", slack_webhook_url=f"http://127.0.0.1:{free_port()}/x"
    )
    refresh_failure_alert(context, alerting=alerting)
    (text,) = web.texts("/teams")
    assert f"Refresh run {result.run_id[:8]} failed (refresh)" in text
    assert "Failed step(s): broken" in text and "ValueError: dbt exited with code 2" in text
    assert result.run_id in text

    # status reads the same run from the run history: exit 2 whatever the widgets say
    from orchestration.operations.status import collect, last_runs

    last, success = last_runs(instance)
    assert (last["run_id"], last["status"], success) == (result.run_id, "FAILURE", None)
    assert last["failed_steps"] == ["broken"]
    assert last["error"].startswith("ValueError: dbt exited with code 2")
    status = collect(tmp_path / "none.duckdb", AlertConfig(), TODAY, runs=(last, success))
    assert status.exit_code == 2


@pytest.mark.e2e
def test_incident_sensor_sends_between_runs_and_waits_for_a_running_one(warehouse, live, tmp_path):
    import dagster as dg

    from orchestration import settings
    from orchestration.defs.alerts import Alerting, incident_alerts

    web, smtp, monkeypatch = live
    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    # the sensor reads the warehouse path, never the `warehouse` resource (whose set-up takes
    # the refresh lock)
    monkeypatch.setenv(settings.WAREHOUSE_ENV, str(warehouse))
    resources = {
        "alerting": Alerting(slack_webhook_url=f"{web.url}/slack", max_data_age_days=10_000),
    }
    # a long freshness window: the stale incident depends on today's date, the rest does not
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        skip = incident_alerts(context)
    assert "4 open incident(s), 4 message(s) sent" in skip.skip_message
    assert len(web.texts("/slack")) == 4
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        assert "0 message(s) sent" in incident_alerts(context).skip_message

    # while a run is in progress the warehouse is left alone
    instance.add_run(
        dg.DagsterRun(job_name="refresh", run_id="in-progress-run", status=dg.DagsterRunStatus.STARTED)
    )
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        assert incident_alerts(context).skip_message == "a run is in progress"
    # and with no channel configured it does nothing at all
    empty = resources | {"alerting": Alerting()}
    with dg.build_sensor_context(instance=instance, resources=empty) as context:
        assert incident_alerts(context).skip_message == "no alert channel configured"


@pytest.mark.e2e
def test_status_while_a_refresh_holds_the_warehouse_reads_the_published_copy(warehouse):
    import subprocess
    import sys

    # what the publish step copies into serving.duckdb: the widget statuses
    serving = warehouse.parent / "serving.duckdb"
    with duckdb.connect(str(serving)) as con:
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        con.execute("create schema marts")
        con.execute("create table marts.mart_widget_refresh as select * from wh.marts.mart_widget_refresh")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        status = collect(warehouse, AlertConfig(), TODAY, runs=(None, None))
    finally:
        holder.kill()
        holder.wait()
    assert status.source.startswith("published copy")
    assert status.files is None and status.quarantine is None
    assert [w.status for w in status.widgets] == ["ok", "warning", "failed"]
    assert status.exit_code == 2
    assert "file bookkeeping unavailable" in render(status)
