"""dbt's parse state per warehouse, and the parse ahead of a new warehouse's first build.

dbt parses only what changed when its target folder holds the parse state (partial_parse.msgpack)
of an earlier parse with the same profile and --vars. Both name the warehouse, so each warehouse
keeps its own beside it (settings.Settings.dbt_artifacts_dir), and a new warehouse's state is
parsed in the background while the refresh starts up and ingests (start_parse_ahead).

Kept free of Dagster and dagster-dbt imports: the refresh CLI starts the parse before importing
the code location.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration import settings

# The dbt installed beside this interpreter, whether or not the venv is activated. Where the venv
# has it, `referral-insights-dbt` (orchestration/dbt_cli.py): the same dbt, but on the Spark
# target (issue 7) it keeps the profile's ANSI mode on, which dbt-spark alone would switch off.
_BIN = Path(sys.executable).parent
DBT_EXECUTABLE = str(
    _BIN / "referral-insights-dbt" if (_BIN / "referral-insights-dbt").exists() else _BIN / "dbt"
)

PARTIAL_PARSE = "partial_parse.msgpack"
NICE = shutil.which("nice")
_PARSE_AHEAD_PREFIX = "parse-ahead-"
# warehouse path -> the `dbt parse` started for it and the folder it writes (this process's runs)
_parses_ahead: dict[Path, tuple[subprocess.Popen, Path]] = {}


def start_parse_ahead(config: settings.Settings) -> bool:
    """Parse the dbt project for a warehouse that has no parse state yet, in the background.

    dbt re-parses the whole project when its profile or --vars differ from the saved parse
    state's, and they name the warehouse: a new warehouse's first build spent ~3 s more in
    `dbt parse` (6 s against 3 s at 1M referrals). The refresh CLI starts this before it imports
    the code location (~3 s on one core) and runs its job, so the parse runs beside both; the
    build then starts from its state (finish_parse_ahead). `dbt parse` does not open the
    warehouse. Returns whether it started."""
    artifacts = config.dbt_artifacts_dir
    if (artifacts / PARTIAL_PARSE).is_file() or config.warehouse in _parses_ahead:
        return False
    artifacts.mkdir(parents=True, exist_ok=True)
    for stale in artifacts.glob(f"{_PARSE_AHEAD_PREFIX}*"):  # from a refresh killed meanwhile
        shutil.rmtree(stale, ignore_errors=True)
    target = artifacts / f"{_PARSE_AHEAD_PREFIX}{os.getpid()}"
    project_dir = str(Path(settings.DBT_PROJECT_DIR).resolve())
    env = os.environ | {
        "DBT_PROJECT_DIR": project_dir,
        "DBT_PROFILES_DIR": project_dir,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    args = ["parse", "--quiet", "--target", config.dbt_target, "--vars", json.dumps(config.dbt_vars())]
    # At the lowest CPU priority: ingestion, CPU-bound on every core, keeps them; the parse runs
    # on what ingestion leaves idle (its Python reading and commits) and has mostly finished
    # when the build starts. At normal priority it slowed ingestion by about its own length.
    nice = [NICE, "-n", "19"] if NICE else []
    process = subprocess.Popen(
        [*nice, DBT_EXECUTABLE, *args],
        cwd=project_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _parses_ahead[config.warehouse] = (process, target)
    return True


def finish_parse_ahead(config: settings.Settings, timeout_s: float = 120.0) -> None:
    """Wait for this warehouse's parse ahead, if one was started, and keep its parse state for
    the build (a failed parse is dropped: the build parses, and reports, by itself)."""
    started = _parses_ahead.pop(config.warehouse, None)
    if started is None:
        return
    process, target = started
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.returncode == 0:
        keep_partial_parse(target, config.dbt_artifacts_dir)
    shutil.rmtree(target, ignore_errors=True)


def seed_partial_parse(artifacts: Path, invocation_target: Path) -> None:
    """dbt parses only what changed when the target folder holds the parse state of an earlier
    parse with the same profile and --vars: this warehouse's last build left it in `artifacts`.
    (Without one, dagster-dbt seeds the project's own, from the manifest parse.)"""
    kept = artifacts / PARTIAL_PARSE
    if kept.is_file():
        invocation_target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, invocation_target / PARTIAL_PARSE)


def keep_partial_parse(invocation_target: Path, artifacts: Path) -> None:
    """Keep this build's parse state for the warehouse's next build (atomic replace): a full
    parse costs ~3 s per build."""
    built = invocation_target / PARTIAL_PARSE
    kept = artifacts / PARTIAL_PARSE
    if built.is_file():
        partial = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
        shutil.copyfile(built, partial)
        os.replace(partial, kept)
