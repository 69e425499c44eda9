"""Benchmark of extraction: a million referrals through the sandbox into the landing zone.

    .venv/bin/python bench/extract.py [--referrals 1000000] [--page-size 1000] [--reuse]

Generates the landing zone with the project's generator (bench/work/extract/generated, reused
with --reuse), serves it with the sandbox (clock at the last snapshot date, so the first
extraction is a full one: every current referral), and runs the referrals extraction as its
own measured process (bench/measure.py: wall, CPU, peak RSS). Prints records/s and the
extractor's peak RSS; the target is < 500 MB whatever the number of records (pages stream to
the file). The sandbox's own memory is shown too but is not the extractor's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import run_measured  # noqa: E402

EXTRACT = """
import json, sys, duckdb
from pathlib import Path
from orchestration.extract.extractor import extract
from orchestration.extract.settings import ExtractSettings
result = extract("referrals", ExtractSettings.from_env(), Path(sys.argv[1]),
                 lambda: duckdb.connect(sys.argv[2]))
print("RESULT " + json.dumps(result.as_dict()))
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true", help="keep a generated landing zone")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "extract")
    args = parser.parse_args()

    from synthetic.generator import generate

    generated, out = args.work / "generated", args.work / "out"
    report = generated / "generation_report.json"
    if not (args.reuse and report.exists()
            and json.loads(report.read_text())["parameters"]["referrals"] == args.referrals):
        started = time.perf_counter()
        summary = generate(generated, referrals=args.referrals, start=dt.date(2025, 11, 1))
        print(f"[bench] generated {summary.referral_records:,} referral records in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    last = max(p.name[:10] for p in (generated / "referrals").iterdir())

    started = time.perf_counter()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--from", str(generated)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        url = sandbox.stdout.readline().split()[-1]
        print(f"[bench] sandbox indexed the landing zone in {time.perf_counter() - started:.1f}s",
              flush=True)
        request = urllib.request.Request(
            url + "/admin/clock", data=json.dumps({"now": f"{last}T12:00:00Z"}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=600)
        env = os.environ | {
            "REFERRAL_INSIGHTS_PC_API_BASE": url,
            "REFERRAL_INSIGHTS_PC_AUTHORITY": url,
            "REFERRAL_INSIGHTS_PC_TENANT_ID": "sandbox-tenant",
            "REFERRAL_INSIGHTS_PC_CLIENT_ID": "sandbox-client",
            "REFERRAL_INSIGHTS_PC_CLIENT_SECRET": "sandbox-secret",
            "REFERRAL_INSIGHTS_PC_REFRESH_TOKEN": "sandbox-refresh-token",
            "REFERRAL_INSIGHTS_PC_PAGE_SIZE": str(args.page_size),
            "REFERRAL_INSIGHTS_PC_TIMEOUT_SECONDS": "600",  # the sandbox sorts on the 1st page
        }
        log = out / "extract.log"
        sandbox_cpu = _cpu_seconds(sandbox.pid)
        metrics = run_measured(
            "extract referrals",
            [sys.executable, "-c", EXTRACT, str(out / "raw"), str(out / "wh.duckdb")],
            env=env, log_file=log, cwd=ROOT,
        )
        sandbox_mb = _vm_hwm_mb(sandbox.pid)
        sandbox_cpu = _cpu_seconds(sandbox.pid) - sandbox_cpu
    finally:
        sandbox.terminate()
        sandbox.wait(30)
    if metrics.returncode != 0:
        print(log.read_text()[-3000:])
        return 1
    result = json.loads(next(line[7:] for line in log.read_text().splitlines()
                             if line.startswith("RESULT ")))
    landed = out / "raw" / result["landed_file"]
    with gzip.open(landed, "rb") as f:
        lines = sum(1 for _ in f)
    assert lines == result["records"], (lines, result["records"])
    print(
        "\n| referrals generated | records extracted | pages (size) | wall s | CPU s | "
        "records/s | extractor peak RSS MB | landed file MB | sandbox CPU s | sandbox peak RSS MB |\n"
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
        f"| {args.referrals:,} | {result['records']:,} | {result['pages']:,} ({args.page_size}) "
        f"| {metrics.wall_s:.1f} | {metrics.cpu_s:.1f} | {result['records'] / metrics.wall_s:,.0f} "
        f"| {metrics.peak_rss_mb:.0f} | {landed.stat().st_size / 2**20:.0f} | {sandbox_cpu:.1f} "
        f"| {sandbox_mb:.0f} |"
    )
    print(f"\nextractor CPU: {result['records'] / metrics.cpu_s:,.0f} records per CPU second; "
          f"other load on the machine meanwhile: {metrics.background_cores:.2f} cores")
    return 0 if metrics.peak_rss_mb < 500 else 2


if __name__ == "__main__":
    sys.exit(main())
