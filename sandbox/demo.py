"""`make demo`: start the sandbox over a generated year of data, then run weekly extract →
refresh cycles against it, moving the sandbox's clock a week each time; the warehouse, landing
zone and Dagster run history stay in data/demo/ to look at (dashboard, UI).

    python -m sandbox.demo [--referrals 5000] [--weeks 4] [--out data/demo]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from orchestration import settings

SANDBOX_CREDENTIALS = {
    "REFERRAL_INSIGHTS_PC_TENANT_ID": "sandbox-tenant",
    "REFERRAL_INSIGHTS_PC_CLIENT_ID": "sandbox-client",
    "REFERRAL_INSIGHTS_PC_CLIENT_SECRET": "sandbox-secret",
    "REFERRAL_INSIGHTS_PC_REFRESH_TOKEN": "sandbox-refresh-token",
}


def _post(url: str, body: bytes) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=5_000)
    parser.add_argument("--weeks", type=int, default=4, help="extract → refresh cycles")
    parser.add_argument("--out", type=Path, default=settings.PROJECT_ROOT / "data" / "demo")
    args = parser.parse_args(argv)

    from synthetic.generator import generate

    out = args.out.resolve()
    generated, raw = out / "generated", out / "raw"
    warehouse = out / "warehouse" / "referral_insights.duckdb"
    for path in (raw, warehouse.parent, generated):  # a demo starts from nothing
        shutil.rmtree(path, ignore_errors=True)
    summary = generate(generated, referrals=args.referrals, start=dt.date(2025, 11, 1), days=365)
    dates = sorted(dt.date.fromisoformat(p.name[:10]) for p in (generated / "referrals").iterdir())
    weeks = dates[-args.weeks:]
    print(f"generated {summary.referral_records} referral records, {len(dates)} weekly snapshots")

    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--from", str(generated)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        url = sandbox.stdout.readline().split()[-1]
        print(f"sandbox on {url}")
        os.environ.update(SANDBOX_CREDENTIALS | {
            "REFERRAL_INSIGHTS_PC_API_BASE": url,
            "REFERRAL_INSIGHTS_PC_AUTHORITY": url,
            "REFERRAL_INSIGHTS_PC_TRAFFIC_REPORT_URL":
                url + "/insights/v1/cmp/reports/marketplace-traffic.csv",
            "REFERRAL_INSIGHTS_PC_PAGE_SIZE": "500",
        })
        import dagster as dg

        from orchestration.defs.extract import materialize_extract
        from orchestration.refresh import run_refresh

        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
        for week in weeks:
            _post(url + "/admin/clock", f'{{"now": "{week}T07:00:00Z"}}'.encode())
            run = materialize_extract(raw, warehouse, instance=instance)
            landed = []
            for node in ("extract__referrals", "extract__solutions",
                         "extract__marketplace_traffic"):
                for m in run.asset_materializations_for_node(node):
                    landed.append(f"{node.split('__')[1]} {m.metadata['records'].value}")
            print(f"{week}: extracted {', '.join(landed)}", flush=True)
            if not run.success:
                print("extraction failed, see the run log", file=sys.stderr)
                return 1
            result = run_refresh(raw, warehouse)
            print(f"{week}: refresh {'succeeded' if result.success else 'FAILED'} in "
                  f"{result.seconds:.1f}s, {result.records_loaded} records loaded", flush=True)
            if not result.success:
                return 1
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    print(f"\nwarehouse: {warehouse}\nlanding zone: {raw}\n"
          f"dashboard: referral-insights dashboard --warehouse {warehouse}\n"
          f"Dagster UI: REFERRAL_INSIGHTS_RAW_DIR={raw} REFERRAL_INSIGHTS_WAREHOUSE={warehouse} "
          "make ui")
    return 0


if __name__ == "__main__":
    sys.exit(main())
