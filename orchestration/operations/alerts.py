"""Incidents found in the warehouse's bookkeeping, and one alert per incident.

An incident is something a person has to look at:

- a widget whose mart failed validation (`marts.mart_widget_refresh.status = 'failed'`): readers
  keep its last good copy, so nobody notices unless told;
- a landed file that failed to load, or that waits (future-dated) in `raw.ingested_files`;
- a file with more than a configured share of its records quarantined (`raw.quarantine`);
- a source whose newest loaded snapshot is older than the freshness threshold (a landing zone
  that stopped receiving files);
- a failed refresh run (from Dagster's run history; the run-failure sensor reports it at once).

Each incident has a stable key (what it is about) and a fingerprint (what it says). `notify`
sends an incident to a channel once and records it in `ops.alert_state`; it is sent again only
when its fingerprint changes (e.g. other expectations fail), or after it was resolved and came
back. A channel that cannot be reached is logged and retried at the next evaluation; it never
raises, so alerting never fails a refresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from orchestration.operations.channels import AlertConfig, Channel, Message
from orchestration.quality.widgets import WIDGETS

log = logging.getLogger(__name__)

STATE_TABLE = "ops.alert_state"


@dataclass(frozen=True)
class Incident:
    key: str
    """What it is about: `widget_failed:<mart>`, `file_failed:<file>`, `stale:<source>`, …"""
    fingerprint: str
    """What it says: a new fingerprint under the same key is a new message."""
    subject: str
    lines: tuple[str, ...]
    run_id: str | None = None
    severity: str = "error"

    def message(self) -> Message:
        lines = self.lines + ((f"Run: {self.run_id}",) if self.run_id else ())
        return Message(self.subject, lines, self.severity)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "severity": self.severity,
            "subject": self.subject,
            "details": list(self.lines),
            "run_id": self.run_id,
        }


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _has_table(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def _widgets_fed_by(source: str) -> list[str]:
    return [w.name for w in WIDGETS if source in w.sources]


def detect_incidents(
    con, config: AlertConfig, today: dt.date | None = None, last_run: dict | None = None
) -> list[Incident]:
    """Every open incident in the warehouse (read-only queries). `last_run`: the latest refresh
    run from Dagster's run history (`run_id`, `job`, `status`, `error`), when known."""
    today = today or dt.datetime.now(dt.UTC).date()
    incidents: list[Incident] = []
    if last_run and last_run.get("status") == "FAILURE":
        incidents.append(run_failed_incident(last_run))
    incidents += _failed_widgets(con)
    if _has_table(con, "raw", "ingested_files"):
        incidents += _files(con)
        incidents += _quarantine(con, config.quarantine_share)
        incidents += _stale_sources(con, config.max_data_age_days, today)
    return incidents


def root_error(error) -> str | None:
    """The innermost cause of a Dagster SerializableErrorInfo (a step failure wraps the user
    exception in DagsterExecutionStepExecutionError)."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip() if error is not None else None


def run_failed_incident(run: dict) -> Incident:
    lines = [f"Job: {run.get('job')}"]
    if run.get("failed_steps"):
        lines.append("Failed step(s): " + ", ".join(run["failed_steps"]))
    if run.get("error"):
        lines.append(f"Error: {str(run['error']).strip()[:1500]}")
    lines.append("Readers keep the last published marts; run `referral-insights status`.")
    return Incident(
        key=f"run_failed:{run['run_id']}",
        fingerprint="",
        subject=f"Refresh run {run['run_id'][:8]} failed ({run.get('job')})",
        lines=tuple(lines),
        run_id=run["run_id"],
    )


def _failed_widgets(con) -> list[Incident]:
    if not _has_table(con, "marts", "mart_widget_refresh"):
        return []
    with_results = _has_table(con, "quality", "gx_validation_results")
    rows = con.execute(
        f"""
        select w.widget, w.mart, w.failed_expectations, w.data_as_of,
               {"g.run_name, g.failed_expectations, g.error" if with_results else "null, null, null"}
        from marts.mart_widget_refresh w
        {"left join quality.gx_validation_results g on g.mart = w.mart" if with_results else ""}
        where w.status = 'failed'
        order by w.mart
        """
    ).fetchall()
    incidents = []
    for widget, mart, failed_text, as_of, run_id, failed_json, error in rows:
        failed = json.loads(failed_json) if failed_json else []
        # Identity of the failure: which expectations failed (not how many rows, which moves
        # with every refresh), or the error that stopped the validation.
        what = sorted(
            (f["expectation_type"], f["arguments"]) for f in failed if f.get("level") == "error"
        )
        lines = [f"Mart: {mart} (data as of {as_of})"]
        lines += [f"Failed: {f['description']}" for f in failed] or (
            [f"Failed: {failed_text}"] if failed_text else []
        )
        if error:
            lines.append(f"Error: {error}")
        lines.append("Readers keep the last good published copy of this widget.")
        incidents.append(
            Incident(
                key=f"widget_failed:{mart}",
                fingerprint=_digest([what, error]),
                subject=f"Widget '{widget}' failed validation",
                lines=tuple(lines),
                run_id=run_id,
            )
        )
    return incidents


def _files(con) -> list[Incident]:
    rows = con.execute(
        """
        select source, file_name, status, error, file_size, file_mtime_ns, snapshot_date
        from raw.ingested_files where status in ('failed', 'waiting') order by file_name
        """
    ).fetchall()
    incidents = []
    for source, file_name, status, error, size, mtime, snapshot in rows:
        what = "failed to load" if status == "failed" else "is waiting (not loaded yet)"
        lines = [f"File: {file_name} (snapshot {snapshot}, {size} bytes)"]
        if error:
            lines.append(f"Reason: {error}")
        lines.append("Widgets fed by it: " + ", ".join(_widgets_fed_by(source)))
        incidents.append(
            Incident(
                key=f"file_{status}:{file_name}",
                fingerprint=_digest([size, mtime, error]),
                subject=f"Landed file {file_name} {what}",
                lines=tuple(lines),
                severity="error" if status == "failed" else "warning",
            )
        )
    return incidents


def _quarantine(con, share: float) -> list[Incident]:
    rows = con.execute(
        """
        select source, file_name, records_loaded, records_quarantined, file_size, file_mtime_ns
        from raw.ingested_files
        where status = 'loaded' and records_quarantined > 0
          and records_quarantined > ? * (records_loaded + records_quarantined)
        order by file_name
        """,
        [share],
    ).fetchall()
    incidents = []
    for source, file_name, loaded, quarantined, size, mtime in rows:
        reasons = con.execute(
            """
            select coalesce(field, '(record)') || ': ' || reason, count(*) from raw.quarantine
            where file_name = ? group by all order by 2 desc, 1 limit 3
            """,
            [file_name],
        ).fetchall()
        total = loaded + quarantined
        lines = [
            f"File: {file_name}: {quarantined} of {total} records quarantined "
            f"({100 * quarantined / total:.1f}%, threshold {100 * share:g}%)",
            *(f"Reason: {reason} ({n})" for reason, n in reasons),
            "Widgets fed by it: " + ", ".join(_widgets_fed_by(source)),
            "The records are in raw.quarantine with file, line, field and reason.",
        ]
        incidents.append(
            Incident(
                key=f"quarantine:{file_name}",
                fingerprint=_digest([size, mtime]),
                subject=f"{100 * quarantined / total:.0f}% of {file_name} quarantined",
                lines=tuple(lines),
                severity="warning",
            )
        )
    return incidents


def newest_snapshots(con) -> dict[str, dt.date]:
    """Per source, the newest snapshot date that loaded."""
    return dict(
        con.execute(
            "select source, max(snapshot_date) from raw.ingested_files "
            "where status = 'loaded' group by source"
        ).fetchall()
    )


def _stale_sources(con, max_age_days: int, today: dt.date) -> list[Incident]:
    incidents = []
    for source, newest in sorted(newest_snapshots(con).items()):
        age = (today - newest).days
        if age <= max_age_days:
            continue
        incidents.append(
            Incident(
                key=f"stale:{source}",
                fingerprint="",  # one message while it stays stale, however old it gets
                subject=f"No new {source} data for {age} days",
                lines=(
                    f"Newest loaded {source} snapshot: {newest} ({age} days old, threshold "
                    f"{max_age_days} days)",
                    "Widgets showing stale numbers: " + ", ".join(_widgets_fed_by(source)),
                    "Check that the export still lands files in the raw dir.",
                ),
                severity="warning",
            )
        )
    return incidents


@dataclass
class NotifyResult:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (channel, incident key)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (channel, error)
    resolved: list[str] = field(default_factory=list)
    open: list[Incident] = field(default_factory=list)


def ensure_state_table(con) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        f"""
        create table if not exists {STATE_TABLE} (
            incident_key varchar not null,
            channel varchar not null,
            fingerprint varchar not null,
            subject varchar not null,
            sent_at timestamp not null,
            primary key (incident_key, channel)
        )"""
    )


def notify(
    con,
    incidents: Sequence[Incident],
    channels: Iterable[Channel],
    logger: logging.Logger | None = None,
) -> NotifyResult:
    """Send each incident not yet sent to each channel; forget resolved incidents. Never
    raises for a channel: a failure is logged and the incident stays unsent for that channel
    (retried next time); a channel that failed once is not tried again in this call."""
    logger = logger or log
    ensure_state_table(con)
    result = NotifyResult(open=list(incidents))
    sent = {
        (key, channel): fingerprint
        for key, channel, fingerprint in con.execute(
            f"select incident_key, channel, fingerprint from {STATE_TABLE}"
        ).fetchall()
    }
    current = {i.key for i in incidents}
    result.resolved = sorted({key for key, _ in sent if key not in current})
    if result.resolved:
        con.execute(
            f"delete from {STATE_TABLE} where incident_key in (select unnest(?))",
            [result.resolved],
        )
    for channel in channels:
        for incident in incidents:
            if sent.get((incident.key, channel.name)) == incident.fingerprint:
                continue
            try:
                channel.send(incident.message())
            except Exception as exc:  # any channel error: report it, keep going
                logger.warning(f"alert channel {channel.name} failed: {exc}")
                result.failed.append((channel.name, str(exc)))
                break
            con.execute(
                f"insert or replace into {STATE_TABLE} values (?, ?, ?, ?, now()::timestamp)",
                [incident.key, channel.name, incident.fingerprint, incident.subject],
            )
            result.sent.append((channel.name, incident.key))
    return result


def check_and_notify(
    con,
    config: AlertConfig,
    today: dt.date | None = None,
    last_run: dict | None = None,
    logger: logging.Logger | None = None,
    run_id: str | None = None,
) -> NotifyResult:
    """Detect the open incidents and send the new ones to the configured channels. `run_id`:
    the run that found them, named in messages whose incident has no run of its own (a file's
    bookkeeping does not record the run that loaded it)."""
    logger = logger or log
    for error in config.errors:
        logger.warning(f"alert setting ignored: {error}")
    incidents = [
        i if i.run_id or not run_id else replace(i, run_id=run_id)
        for i in detect_incidents(con, config, today, last_run)
    ]
    return notify(con, incidents, config.channels(), logger)


def notify_warehouse(
    warehouse, config: AlertConfig, last_run: dict | None = None, logger=None
) -> NotifyResult | None:
    """`check_and_notify` on a warehouse file, for cron setups without the Dagster daemon
    (`referral-insights status --notify`). None when a refresh holds the warehouse: that
    refresh's own alert step sends what it finds."""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return None
        raise
    with con:
        return check_and_notify(
            con, config, last_run=last_run, logger=logger,
            run_id=last_run.get("run_id") if last_run else None,
        )  # fmt: skip
