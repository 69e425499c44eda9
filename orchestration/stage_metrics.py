"""Wall time, CPU time and peak memory of one pipeline stage.

Each asset wraps its work in `measure(stage)`; the figures become asset metadata (so the UI shows
what every refresh cost) and, when REFERRAL_INSIGHTS_STAGE_METRICS names a file, a JSON line there
(the benchmark reads them). CPU time includes child processes (dbt runs as one). Peak RSS is this
process's high-water mark since the stage began (reset through /proc/self/clear_refs) or, if
larger, that of a child process the stage waited for.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

METRICS_FILE_ENV = "REFERRAL_INSIGHTS_STAGE_METRICS"


@dataclass
class StageMetrics:
    stage: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0

    def as_metadata(self) -> dict[str, float]:
        return {
            "stage_wall_seconds": round(self.wall_s, 3),
            "stage_cpu_seconds": round(self.cpu_s, 3),
            "stage_peak_rss_mb": round(self.peak_rss_mb, 1),
        }


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not permitted: the peak then covers the whole process
        pass


def _own_peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def measure(stage: str) -> Iterator[StageMetrics]:
    metrics = StageMetrics(stage)
    children_peak_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    _reset_peak_rss()
    wall, cpu = time.perf_counter(), _cpu()
    try:
        yield metrics
    finally:
        metrics.wall_s = time.perf_counter() - wall
        metrics.cpu_s = _cpu() - cpu
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child_mb = children_peak / 1024 if children_peak > children_peak_before else 0.0
        metrics.peak_rss_mb = max(_own_peak_rss_mb(), child_mb)
        target = os.environ.get(METRICS_FILE_ENV)
        if target:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(metrics)) + "\n")
