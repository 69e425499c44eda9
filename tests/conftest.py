"""Shared fixtures: hand-built landing zones in a temporary folder."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def pytest_configure(config):
    """Parse the dbt project once, before pytest-xdist starts its workers: each worker imports
    the Dagster definitions, which re-parse a stale manifest, and two parses at once would write
    the same target files."""
    if not hasattr(config, "workerinput"):
        from orchestration.defs.dbt_project import ensure_manifest

        ensure_manifest()


@pytest.fixture(scope="session", autouse=True)
def _in_memory_dagster_instance():
    """The suite's refreshes run on an in-memory Dagster instance. `make` exports DAGSTER_HOME
    (so that `make run` shows its runs in `make ui`), but a SQLite run history writes and syncs
    every event: half the time of a small refresh on this machine. Tests of the run history,
    the daemon and retention set a DAGSTER_HOME of their own."""
    saved = os.environ.pop("DAGSTER_HOME", None)
    yield
    if saved is not None:
        os.environ["DAGSTER_HOME"] = saved

GOOD_REFERRAL = {
    "id": "ref-1",
    "engagementId": "eng-1",
    "organizationId": "org-a",
    "organizationName": "Contoso",
    "name": "Contoso deal",
    "createdDateTime": "2026-01-02T09:00:00Z",
    "updatedDateTime": "2026-01-03T09:00:00Z",
    "acceptedDateTime": "2026-01-03T09:00:00Z",
    "closedDateTime": None,
    "expirationDateTime": "2026-01-16T09:00:00Z",
    "status": "Active",
    "substatus": "Accepted",
    "type": "Shared",
    "qualification": "SalesQualified",
    "direction": "Incoming",
    "referralProgram": None,
    "inviteContext": {"invitedBy": {"organizationId": "msft"}},
    "customerProfile": {"address": {"country": "NL"}},
    "details": {"dealValue": 1000, "currency": "EUR", "closingDateTime": "2026-06-30T00:00:00Z"},
    "registrations": [
        {
            "id": "reg-1",
            "status": "Approved",
            "contract": {"value": 500, "currency": "USD"},
            "statusHistory": {"approvedDateTime": "2026-01-04T10:00:00Z"},
        }
    ],
}

GOOD_SOLUTION = {
    "id": "SOL-1-IPC",
    "organizationId": "org-a",
    "name": "Contoso Analytics",
    "offerId": "offer-1",
    "solutionType": "IP",
    "publishStatus": "Live",
    "coSellStatus": "CoSellReady",
    "updatedDateTime": "2026-01-01T00:00:00Z",
}

TRAFFIC_HEADER = "date,organizationId,offerId,pageViews,ctaClicks"


def referral(**overrides) -> dict:
    record = copy.deepcopy(GOOD_REFERRAL)
    record.update(overrides)
    return record


def inbound(id_: str, **overrides) -> dict:
    """An inbound co-sell referral of org-a invited by Microsoft, Direct and without dates,
    registrations or deal details unless `overrides` say otherwise (the hand-built landing zones
    of the end-to-end and quality tests)."""
    base = dict(
        id=id_, engagementId=f"eng-{id_}", organizationId="org-a", type="Shared",
        qualification="Direct", direction="Incoming", acceptedDateTime=None, closedDateTime=None,
        referralProgram=None, registrations=[], details={},
        inviteContext={"invitedBy": {"organizationId": "msft"}},
    )  # fmt: skip
    return referral(**(base | overrides))


def solution(**overrides) -> dict:
    record = copy.deepcopy(GOOD_SOLUTION)
    record.update(overrides)
    return record


def write_jsonl(path: Path, records: list) -> Path:
    """Each element is a dict (serialised), or bytes/str written verbatim as one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for r in records:
        if isinstance(r, bytes):
            lines.append(r)
        elif isinstance(r, str):
            lines.append(r.encode())
        else:
            lines.append(orjson.dumps(r))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def write_csv(path: Path, rows: list[str], header: str = TRAFFIC_HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    path = tmp_path / "raw"
    path.mkdir()
    return path


def computed_marts(con) -> dict[str, list]:
    """Every dbt mart's rows, sorted. The widget-refresh details are left out: they carry the
    run's timestamps and are not a computation over the landed data."""
    names = [
        n
        for (n,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_name <> 'mart_widget_refresh' order by 1"
        ).fetchall()
    ]
    return {n: con.execute(f"select * from marts.{n} order by all").fetchall() for n in names}


def run_dbt(args: list[str], warehouse: Path, target: Path) -> subprocess.CompletedProcess:
    """The project's dbt CLI on `warehouse`, artifacts in `target` (never the project's own)."""
    from orchestration import settings

    env = os.environ | {settings.WAREHOUSE_ENV: str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target-path", str(target)],
        env=env, capture_output=True, text=True, timeout=600,
    )



def asgi_get(app, path: str = "/", query: str = "", host: str = "127.0.0.1:8050"):
    """One GET through an ASGI app without a server: (status, headers, body text)."""
    status, headers, body = asgi_get_bytes(app, path, query, host)
    return status, headers, body.decode(errors="replace")


def asgi_get_bytes(app, path: str = "/", query: str = "", host: str = "127.0.0.1:8050"):
    """One GET through an ASGI app without a server: (status, headers, body bytes)."""
    import asyncio

    async def call():
        messages = []
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": [(b"host", host.encode())], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8050),
        }  # fmt: skip

        requested = []

        async def receive():
            if not requested:
                requested.append(True)
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)  # the client never disconnects (file responses listen)

        async def send(message):
            messages.append(message)

        await app(scope, receive, send)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return start["status"], headers, body

    return asyncio.run(call())


_HOLD_THE_REFRESH_LOCK = """
import sys, time
from orchestration import warehouse
with warehouse.hold(sys.argv[1], timeout_s=0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_refresh_lock_elsewhere(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse's refresh lock (as a refresh in progress does) for
    `seconds`; returns once it holds it."""
    from orchestration import settings

    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_REFRESH_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE, text=True, cwd=settings.PROJECT_ROOT,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    return proc
