"""Fault-injection points for the crash-and-restart tests.

A test sets REFERRAL_INSIGHTS_PAUSE_AT=<point> and REFERRAL_INSIGHTS_PAUSE_MARKER=<file>; when the
refresh reaches that point it writes the marker and sleeps, so the test can SIGKILL it at exactly
that moment. Without the variables every point is a no-op.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AT_ENV = "REFERRAL_INSIGHTS_PAUSE_AT"
PAUSE_MARKER_ENV = "REFERRAL_INSIGHTS_PAUSE_MARKER"

# The named points, in the order a refresh passes them.
POINTS = ("ingest", "dbt", "validation", "publish")


def pause_point(name: str) -> None:
    if os.environ.get(PAUSE_AT_ENV) != name:
        return
    Path(os.environ[PAUSE_MARKER_ENV]).write_text(name)
    time.sleep(3600)
