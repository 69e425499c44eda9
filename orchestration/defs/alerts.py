"""Alerts: a run-failure sensor and an incident sensor, and the `alerting` resource.

- `refresh_failure_alert` messages every failed run of this code location once (Dagster's run
  status cursor), with the failed steps and the error.
- `incident_alerts` looks at the warehouse's bookkeeping every 15 minutes between runs, so a
  landing zone that stopped receiving files is reported although no run fails. Each refresh
  also runs the same check at its end (the `ops/alerts` asset, orchestration/defs/operations.py);
  both share the state in `ops.alert_state`, so an incident is sent once.

With no channel configured both do nothing; a channel that cannot be reached is logged, never
raised (orchestration/operations/alerts.py).
"""



import dagster as dg
import duckdb

from orchestration import settings
from orchestration.operations.alerts import check_and_notify, root_error, run_failed_incident
from orchestration.operations.channels import AlertConfig


class Alerting(dg.ConfigurableResource):
    """Alert channels and thresholds. Each unset field falls back, when alerts are sent, to its
    environment variable `REFERRAL_INSIGHTS_ALERT_<FIELD>` (docs/operations.md); with none set
    nothing is sent."""

    teams_webhook_url: str | None = None
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str | None = None
    smtp_recipients: list[str] | None = None
    smtp_starttls: bool | None = None
    timeout_seconds: float | None = None
    max_data_age_days: int | None = None
    quarantine_share: float | None = None

    def alert_config(self) -> AlertConfig:
        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return AlertConfig.from_env(overrides=overrides)


_IN_PROGRESS = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dg.run_failure_sensor(
    name="refresh_failure_alert",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends one alert per failed run (the failed steps and the error) to the "
    "configured Teams / Slack / e-mail channels.",
)
def refresh_failure_alert(context: dg.RunFailureSensorContext, alerting: Alerting):
    config = alerting.alert_config()
    channels = config.channels()
    if not channels:
        return dg.SkipReason("no alert channel configured")
    run = context.dagster_run
    failures = context.get_step_failure_events()
    errors = [
        root_error(e.event_specific_data.error)
        for e in failures
        if getattr(e.event_specific_data, "error", None)
    ]
    incident = run_failed_incident(
        {
            "run_id": run.run_id,
            "job": run.job_name,
            "failed_steps": [e.step_key for e in failures if e.step_key],
            "error": errors[0] if errors else context.failure_event.message,
        }
    )
    for channel in channels:
        try:
            channel.send(incident.message())
        except Exception as exc:  # an unreachable channel is reported, never raised
            context.log.warning(f"alert channel {channel.name} failed: {exc}")


@dg.sensor(
    name="incident_alerts",
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 15 minutes between runs: failed widgets, failed or waiting files, "
    "quarantine over the threshold and stale sources, each sent once per incident.",
)
def incident_alerts(context: dg.SensorEvaluationContext, alerting: Alerting):
    config = alerting.alert_config()
    if not config.channels():
        return dg.SkipReason("no alert channel configured")
    if context.instance.get_run_records(filters=dg.RunsFilter(statuses=_IN_PROGRESS), limit=1):
        # The warehouse belongs to that run; its own ops/alerts step reports what it finds.
        return dg.SkipReason("a run is in progress")
    # The path only, not the `warehouse` resource: initialising that takes the run's refresh
    # lock and creates the warehouse folder, which a sensor tick must never do.
    path = settings.warehouse_path()
    if not path.exists():
        return dg.SkipReason(f"no warehouse at {path} yet")
    try:
        # briefly, without Dagster's connection retries: a busy warehouse means try next tick
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        return dg.SkipReason(f"warehouse busy: {exc}")
    latest = context.instance.get_run_records(limit=1)
    with con:
        result = check_and_notify(
            con, config, logger=context.log,
            run_id=latest[0].dagster_run.run_id if latest else None,
        )  # fmt: skip
    return dg.SkipReason(
        f"{len(result.open)} open incident(s), {len(result.sent)} message(s) sent, "
        f"{len(result.resolved)} resolved"
        + (f", {len(result.failed)} channel failure(s)" if result.failed else "")
    )


ALERT_SENSORS = [refresh_failure_alert, incident_alerts]
