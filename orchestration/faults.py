"""Fault-injection points for the crash-and-restart tests.

A test sets REFERRAL_INSIGHTS_PAUSE_AT=<point> and REFERRAL_INSIGHTS_PAUSE_MARKER=<file>; when the
refresh reaches that point it writes the marker and sleeps, so the test can SIGKILL it at exactly
that moment. Without the variables every point is a no-op.

Runs launched by a Dagster daemon inherit its environment, fixed when the test starts it; for them
REFERRAL_INSIGHTS_FAULT_FILE=<file> names a file the test writes and removes while the daemon
runs: while it says `fail <point>`, a run reaching that point raises InjectedFault; while it says
`hold <point>`, the run waits there until the file changes (and fails if it turns to `fail`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AT_ENV = "REFERRAL_INSIGHTS_PAUSE_AT"
PAUSE_MARKER_ENV = "REFERRAL_INSIGHTS_PAUSE_MARKER"
FAULT_FILE_ENV = "REFERRAL_INSIGHTS_FAULT_FILE"

# The named points, in the order a refresh passes them.
POINTS = ("ingest", "dbt", "validation", "publish")


class InjectedFault(RuntimeError):
    pass


def pause_point(name: str) -> None:
    if os.environ.get(PAUSE_AT_ENV) == name:
        Path(os.environ[PAUSE_MARKER_ENV]).write_text(name)
        time.sleep(3600)
    if os.environ.get(FAULT_FILE_ENV):
        _file_fault(Path(os.environ[FAULT_FILE_ENV]), name)


def _instruction(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _file_fault(path: Path, name: str) -> None:
    while True:  # a held run fails if the instruction turns to `fail`
        instruction = _instruction(path)
        if instruction == f"fail {name}":
            raise InjectedFault(f"injected fault at {name} ({path})")
        if instruction != f"hold {name}":
            return
        time.sleep(0.2)
