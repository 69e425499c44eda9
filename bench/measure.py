"""Run one command as a subprocess and measure it: wall time, CPU time, peak RSS.

- wall: perf_counter around the process;
- CPU: user + system time of the process and every descendant it waited for (dbt), from the
  `os.wait4` rusage;
- peak RSS, two figures:
  * `peak_rss_mb` — the rusage `ru_maxrss`: the largest high-water mark of any single process
    of the tree (Linux merges waited-for children by max, not sum); since a reset through
    /proc/self/clear_refs also resets it, reports use `largest_process_mb()` (the max with the
    stages' own peaks) and `peak_mb()`;
  * `tree_peak_rss_mb` — the largest SUM of the RSS of the process and all its live
    descendants, sampled from /proc every 0.1 s (catches Dagster and the dbt subprocess
    holding memory at the same time; may miss a spike shorter than the interval).
- stages: the JSON lines the command appended to the file named by
  REFERRAL_INSIGHTS_STAGE_METRICS (orchestration/stage_metrics.py format).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

METRICS_ENV = "REFERRAL_INSIGHTS_STAGE_METRICS"
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


@dataclass
class RunMetrics:
    label: str
    command: list[str]
    returncode: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    tree_peak_rss_mb: float = 0.0
    background_cores: float = 0.0  # other processes' average CPU use during the run (noise)
    stages: list[dict] = field(default_factory=list)
    stdout_tail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def largest_process_mb(self) -> float:
        """ru_maxrss, or a stage's own figure when larger: writing "5" to /proc/self/clear_refs
        (stage_metrics.py and the baseline do, to get per-stage peaks) also resets the high-water
        mark the kernel reports in ru_maxrss, so ru_maxrss alone can under-report."""
        return max([self.peak_rss_mb] + [s["peak_rss_mb"] for s in self.stages])

    def peak_mb(self) -> float:
        """The figure to judge memory by: the larger of the sampled process-tree sum and the
        largest single process."""
        return max(self.tree_peak_rss_mb, self.largest_process_mb())

    def stage_totals(self) -> dict[str, dict[str, float]]:
        """Stage lines summed by name (wall, CPU) with the max peak RSS."""
        totals: dict[str, dict[str, float]] = {}
        for line in self.stages:
            t = totals.setdefault(line["stage"], {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0})
            t["wall_s"] += line["wall_s"]
            t["cpu_s"] += line["cpu_s"]
            t["peak_rss_mb"] = max(t["peak_rss_mb"], line["peak_rss_mb"])
        return totals


def _busy_seconds() -> float:
    """Machine-wide busy CPU time (all cores) from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            text = (task / "children").read_text().split()
            kids += [int(k) for k in text]
    except OSError:
        pass
    return kids


def _rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_rss_mb(root: int) -> float:
    total, stack, seen = 0.0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_mb(pid)
        stack += _children(pid)
    return total


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(
    label: str,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    metrics_file: Path | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
    echo: bool = True,
) -> RunMetrics:
    """Run `command`; its stdout/stderr go to `log_file` (kept) and the tail into the result."""
    env = dict(os.environ if env is None else env)
    if metrics_file is not None:
        metrics_file.parent.mkdir(parents=True, exist_ok=True)
        metrics_file.write_text("")
        env[METRICS_ENV] = str(metrics_file)
    else:
        env.pop(METRICS_ENV, None)
    log_file = log_file or Path(os.devnull)
    if echo:
        print(f"[bench] {label}: {' '.join(command)}", flush=True)
    with open(log_file, "wb") as log:
        busy_before = _busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        busy = _busy_seconds() - busy_before
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    result = RunMetrics(
        label=label,
        command=command,
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        tree_peak_rss_mb=max(sampler.peak, usage.ru_maxrss / 1024),
    )
    result.background_cores = max(0.0, (busy - result.cpu_s) / wall) if wall > 0 else 0.0
    if metrics_file is not None and metrics_file.exists():
        result.stages = [json.loads(x) for x in metrics_file.read_text().splitlines() if x.strip()]
    if log_file != Path(os.devnull):
        text = Path(log_file).read_text(errors="replace")
        result.stdout_tail = "\n".join(text.splitlines()[-40:])
    if echo:
        print(
            f"[bench] {label}: exit {result.returncode}, {result.wall_s:.1f}s wall, "
            f"{result.cpu_s:.1f}s CPU, peak RSS {result.peak_rss_mb:.0f} MB "
            f"(process tree {result.tree_peak_rss_mb:.0f} MB); "
            f"other load {result.background_cores:.2f} cores",
            flush=True,
        )
    return result


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
