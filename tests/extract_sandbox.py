"""The sandbox as the extraction tests use it: a real server in a subprocess on a free port,
its admin API, and the environment that points the extractor at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SECRET = "sandbox-secret"
CREDENTIALS = {
    "REFERRAL_INSIGHTS_PC_TENANT_ID": "sandbox-tenant",
    "REFERRAL_INSIGHTS_PC_CLIENT_ID": "sandbox-client",
    "REFERRAL_INSIGHTS_PC_CLIENT_SECRET": SECRET,
    "REFERRAL_INSIGHTS_PC_REFRESH_TOKEN": "sandbox-refresh-token",
}


class Sandbox:
    def __init__(self, raw_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", "0", "--from", str(raw_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # injected dropped connections log tracebacks there
            text=True,
        )
        line = self.proc.stdout.readline()  # "sandbox listening on http://127.0.0.1:PORT"
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"sandbox did not start: {line!r}")
        self.url = line.split()[-1]
        deadline = time.monotonic() + 30
        while True:
            try:
                self.get("/admin/health")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def env(self, **overrides: str) -> dict[str, str]:
        """REFERRAL_INSIGHTS_PC_* variables for this sandbox (fast retries for tests)."""
        return {
            **CREDENTIALS,
            "REFERRAL_INSIGHTS_PC_API_BASE": self.url,
            "REFERRAL_INSIGHTS_PC_AUTHORITY": self.url,
            "REFERRAL_INSIGHTS_PC_TRAFFIC_REPORT_URL": (
                self.url + "/insights/v1/cmp/reports/marketplace-traffic.csv"
            ),
            "REFERRAL_INSIGHTS_PC_BACKOFF_SECONDS": "0.05",
            "REFERRAL_INSIGHTS_PC_TIMEOUT_SECONDS": "10",
            **{f"REFERRAL_INSIGHTS_PC_{k.upper()}": v for k, v in overrides.items()},
        }

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def post(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body or {}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def reset(self, clock: str | None = None, **settings) -> None:
        self.post("/admin/reset")
        if clock:
            self.post("/admin/clock", {"now": clock})
        if settings:
            self.post("/admin/settings", settings)

    def faults(self, *rules: dict) -> None:
        self.post("/admin/faults", {"rules": list(rules)})

    def stats(self) -> dict:
        return self.get("/admin/stats")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait()
