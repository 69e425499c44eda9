"""Week-by-week extraction from the running sandbox gives the same marts as ingesting the
generator's own files, even when one week's extraction is SIGKILLed half-way and rerun."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import orjson
import pytest

from orchestration.defs.extract import materialize_extract
from orchestration.refresh import run_refresh
from synthetic.generator import generate
from tests.conftest import computed_marts
from tests.extract_sandbox import Sandbox

pytestmark = pytest.mark.e2e

START, DAYS, EVERY = dt.date(2025, 11, 1), 29, 7  # snapshots on Nov 1, 8, 15, 22, 29
SNAPSHOTS = [START + dt.timedelta(days=d) for d in range(0, DAYS, EVERY)]
KILLED_WEEK = 2

EXTRACT_ONE = """
import sys, duckdb
from pathlib import Path
from orchestration.extract.extractor import extract
from orchestration.extract.settings import ExtractSettings
extract("referrals", ExtractSettings.from_env(), Path(sys.argv[1]), lambda: duckdb.connect(sys.argv[2]))
"""


def _versions(folder: Path) -> list[tuple[str, str]]:
    """(id, updatedDateTime) of every record landed in a referrals folder, repeats included."""
    out = []
    for path in sorted(folder.iterdir()):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            out += [(r["id"], r["updatedDateTime"]) for r in map(orjson.loads, f) if r]
    return out


def _kill_mid_extract(sandbox: Sandbox, env: dict, raw: Path, warehouse: Path) -> dict:
    """Start a referrals extraction whose pages come slowly, SIGKILL it once a few pages are
    in its temporary file, and report what was left behind."""
    sandbox.faults({"kind": "slow", "endpoint": "referrals", "count": -1, "delay": 0.15})
    proc = subprocess.Popen(
        [sys.executable, "-c", EXTRACT_ONE, str(raw), str(warehouse)],
        env=os.environ | env | {"REFERRAL_INSIGHTS_PC_PAGE_SIZE": "2"},
    )
    deadline = time.monotonic() + 30
    while sandbox.stats().get("served.referrals", 0) < 6:
        assert proc.poll() is None and time.monotonic() < deadline, "extraction ended too soon"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    sandbox.faults()
    folder = raw / "referrals"
    return {
        "partials": [p.name for p in folder.glob(".*.partial")] if folder.exists() else [],
        "landed": sorted(p.name for p in folder.glob("*.jsonl.gz")) if folder.exists() else [],
    }


@pytest.fixture(scope="module")
def weekly(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("weekly")
    generated = tmp / "generated"
    generate(generated, organizations=2, referrals=120, start=START, days=DAYS,
             snapshot_every=EVERY, seed=11)
    assert sorted(p.name for p in (generated / "referrals").iterdir()) == [
        f"{d}.jsonl" for d in SNAPSHOTS
    ]
    sandbox = Sandbox(generated)
    request.addfinalizer(sandbox.stop)
    raw, warehouse = tmp / "extracted", tmp / "extracted.duckdb"
    env = sandbox.env(page_size="7")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    results, killed = [], None
    try:
        for week, day in enumerate(SNAPSHOTS):
            sandbox.reset(clock=f"{day}T22:00:00Z")
            if week == KILLED_WEEK:
                killed = _kill_mid_extract(sandbox, env, raw, warehouse)
            run = materialize_extract(raw, warehouse)
            assert run.success
            results.append({
                m.asset_key.path[-1]: m.metadata for m in run.asset_materializations_for_node(
                    "extract__referrals")
            } | {"success": run.success})
        summary = run_refresh(raw, warehouse)
        reference = run_refresh(generated, tmp / "generated.duckdb")
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return {"tmp": tmp, "generated": generated, "raw": raw, "warehouse": warehouse,
            "summary": summary, "reference": reference, "killed": killed, "results": results}


def test_weekly_extraction_gives_the_generators_marts(weekly):
    assert weekly["summary"].success and weekly["reference"].success
    with duckdb.connect(str(weekly["warehouse"]), read_only=True) as con:
        extracted = computed_marts(con)
    with duckdb.connect(str(weekly["tmp"] / "generated.duckdb"), read_only=True) as con:
        reference = computed_marts(con)
    assert extracted.keys() == reference.keys() and len(reference) >= 8
    assert sum(len(rows) for rows in reference.values()) > 100  # not an empty comparison
    for mart, rows in reference.items():
        assert extracted[mart] == rows, mart


def test_one_file_per_week_named_by_the_service_date(weekly):
    for source, suffix in [("referrals", ".jsonl.gz"), ("solutions", ".jsonl.gz"),
                           ("marketplace_traffic", ".csv")]:
        names = sorted(p.name for p in (weekly["raw"] / source).iterdir())
        assert names == [f"{d}{suffix}" for d in SNAPSHOTS], source
    with duckdb.connect(str(weekly["warehouse"]), read_only=True) as con:
        rows = dict(con.execute(
            "select source, landed_file from ops.extract_watermarks").fetchall())
    assert rows == {s: f"{s}/{SNAPSHOTS[-1]}{'.csv' if s == 'marketplace_traffic' else '.jsonl.gz'}"
                    for s in ("referrals", "solutions", "marketplace_traffic")}


def test_sigkill_mid_extract_then_rerun_loses_and_doubles_nothing(weekly):
    killed = weekly["killed"]
    # the kill left a temporary file, never a landed one for that week
    assert len(killed["partials"]) == 1
    assert f"{SNAPSHOTS[KILLED_WEEK]}.jsonl.gz" not in killed["landed"]
    assert not list((weekly["raw"] / "referrals").glob(".*.partial"))  # the rerun removed it
    extracted = _versions(weekly["raw"] / "referrals")
    generated = _versions(weekly["generated"] / "referrals")
    assert len(extracted) == len(set(extracted))  # no version landed twice
    assert set(extracted) == set(generated)  # and none lost
