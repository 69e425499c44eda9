"""`referral-insights`: refresh the warehouse, or generate synthetic raw data."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from orchestration import settings


def _refresh(args: argparse.Namespace) -> int:
    from orchestration.refresh import RefreshAlreadyRunning, run_refresh

    try:
        summary = run_refresh(
            args.raw_dir, args.warehouse, "INFO" if args.verbose else "WARNING",
            force=args.force,
            full_refresh=args.full_refresh,
        )
    except RefreshAlreadyRunning as exc:
        print(f"refresh not started: {exc}", file=sys.stderr)
        return 3
    for warning in summary.warnings:
        print(f"warning: {warning}")
    if not summary.run_id:
        print(
            f"Warehouse already up to date (nothing landed or changed), checked in {summary.seconds:.1f}s"
        )
    else:
        print(
            f"Refresh {'succeeded' if summary.success else 'FAILED'} in {summary.seconds:.1f}s "
            f"(job {summary.job}, run {summary.run_id})"
        )
    print(f"  warehouse:           {args.warehouse.resolve()}")
    print(f"  as-of date:          {summary.as_of_date or 'none (no readable referral snapshot)'}")
    print(f"  files loaded:        {summary.files_loaded}")
    print(f"  files failed:        {summary.files_failed}")
    for file_name, error in summary.failed_files:
        print(f"    {file_name}: {error}")
    print(f"  files waiting:       {len(summary.waiting_files)}"
          + (" (dated after tomorrow UTC; loaded when their date comes)" if summary.waiting_files else ""))
    for file_name in summary.waiting_files[:10]:
        print(f"    {file_name}")
    print(f"  files gone:          {len(summary.gone_files)}"
          + (" (no longer in the landing zone; their records are kept: see `forget`)" if summary.gone_files else ""))
    for file_name in summary.gone_files[:10]:
        print(f"    {file_name}")
    print(f"  records loaded:      {summary.records_loaded}")
    print(
        f"  records quarantined: {summary.records_quarantined}"
        + (" (see raw.quarantine)" if summary.records_quarantined else "")
    )
    if summary.quality:  # per-widget statuses (marts.mart_widget_refresh) and Data Docs
        print("\n".join(summary.quality.summary_lines()))
    # Quarantined records are data problems, reported above; only a pipeline failure is an error.
    return 0 if summary.success else 1


def _forget(args: argparse.Namespace) -> int:
    from orchestration.refresh import ForgetRefused, RefreshAlreadyRunning, forget

    try:
        removed, summary = forget(args.raw_dir, args.warehouse, args.file)
    except ForgetRefused as exc:
        print(f"forget: {exc}", file=sys.stderr)
        return 2
    except RefreshAlreadyRunning as exc:
        print(f"forget not started: {exc}", file=sys.stderr)
        return 3
    print(
        f"Forgot {args.file}: "
        + ", ".join(f"{rows} row(s) from raw.{table}" for table, rows in removed.items())
    )
    print(f"Rebuild {'succeeded' if summary.success else 'FAILED'} in {summary.seconds:.1f}s "
          f"(run {summary.run_id})")
    return 0 if summary.success else 1


def _generate(args: argparse.Namespace) -> int:
    from synthetic.generator import generate

    try:
        summary = generate(
            args.out,
            organizations=args.organizations,
            referrals=args.referrals,
            start=args.start,
            days=args.days,
            snapshot_every=args.snapshot_every,
            seed=args.seed,
            gzip=args.gzip,
            bad_records=args.bad_records,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    for key, value in summary.to_dict().items():
        print(f"{key}: {value}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    import os

    from dashboard.app import ALLOWED_HOSTS_ENV, allowed_hosts_from, serve

    serve(
        args.warehouse,
        host=args.host,
        port=args.port,
        organization=args.organization,
        allowed_hosts=allowed_hosts_from(args.allowed_host, os.environ.get(ALLOWED_HOSTS_ENV)),
    )
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import serve

    serve(args.source, host=args.host, port=args.port)
    return 0


def _status(args: argparse.Namespace) -> int:
    from orchestration.operations import status as status_lib

    report = status_lib.collect(args.warehouse)
    if args.notify:
        from orchestration.operations.alerts import notify_warehouse
        from orchestration.operations.channels import AlertConfig

        sent = notify_warehouse(args.warehouse, AlertConfig.from_env(), last_run=report.last_run)
        print(
            "alerts: a refresh holds the warehouse; it sends its own"
            if sent is None
            else f"alerts: {len(sent.sent)} sent, {len(sent.failed)} channel failure(s)",
            file=sys.stderr,
        )
    print(report.to_json() if args.json else status_lib.render(report))
    return report.exit_code


def _raw_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--raw-dir",
        type=Path,
        default=settings.raw_dir(),
        help=f"landing zone (default ${settings.RAW_DIR_ENV} or data/raw)",
    )


def _warehouse_option(parser: argparse.ArgumentParser, what: str = "DuckDB file") -> None:
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=settings.warehouse_path(),
        help=f"{what} (default ${settings.WAREHOUSE_ENV} or "
        "data/warehouse/referral_insights.duckdb)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referral-insights", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    refresh = sub.add_parser(
        "refresh", help="ingest new/changed landed files and rebuild the marts"
    )
    _raw_dir_option(refresh)
    _warehouse_option(refresh)
    refresh.add_argument("-v", "--verbose", action="store_true", help="show Dagster's run log")
    refresh.add_argument(
        "--force", action="store_true", help="rebuild even when nothing landed or changed"
    )
    refresh.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental models from every raw record (implies --force)",
    )
    refresh.set_defaults(func=_refresh)

    forget = sub.add_parser(
        "forget",
        help="remove one landed file's records from the warehouse and rebuild (after the file "
        "was removed from the landing zone)",
    )
    forget.add_argument("file", help="the file's path relative to the raw dir, e.g. referrals/2026-01-05.jsonl")
    _raw_dir_option(forget)
    _warehouse_option(forget)
    forget.set_defaults(func=_forget)

    gen = sub.add_parser("generate", help="write a seeded synthetic landing zone")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--organizations", type=int, default=3)
    gen.add_argument("--referrals", type=int, default=10_000)
    gen.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2025, 11, 1))
    gen.add_argument("--days", type=int, default=365)
    gen.add_argument("--snapshot-every", type=int, default=7, metavar="DAYS")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--gzip", action="store_true", help="write .jsonl.gz snapshots")
    gen.add_argument("--bad-records", type=int, default=0, help="inject N bad records")
    gen.set_defaults(func=_generate)

    dash = sub.add_parser(
        "dashboard", help="serve the Referrals overview dashboard over the published marts"
    )
    _warehouse_option(
        dash, "DuckDB warehouse whose published marts (serving.duckdb beside it) are shown"
    )
    dash.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    dash.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    dash.add_argument(
        "--organization",
        help="serve only this organization, from its own serving database "
        "(serving/by_organization/); default: every organization of serving.duckdb",
    )
    dash.add_argument(
        "--allowed-host",
        action="append",
        metavar="HOST",
        help="Host header the server answers to (repeatable; default 127.0.0.1 and localhost, "
        "or the comma-separated $REFERRAL_INSIGHTS_DASHBOARD_ALLOWED_HOSTS)",
    )
    dash.set_defaults(func=_dashboard)

    box = sub.add_parser(
        "sandbox", help="serve a landing zone through a local stand-in for the Partner Center APIs"
    )
    box.add_argument("--port", type=int, default=8600, help="port (default 8600; 0 = any free)")
    box.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    box.add_argument(
        "--from", dest="source", type=Path,
        help="landing zone to serve (default: a small one made by the generator)",
    )
    box.set_defaults(func=_sandbox)

    status = sub.add_parser(
        "status",
        help="last refresh, widget statuses, quarantine and files; exit 0 ok, 1 warning, "
        "2 failed, 3 unknown (docs/operations.md)",
    )
    _warehouse_option(status)
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    status.add_argument(
        "--notify",
        action="store_true",
        help="also send alerts for new incidents (cron setups without the Dagster daemon)",
    )
    status.set_defaults(func=_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
