"""Extraction against the running sandbox: paging, throttling and faults, the retry limit,
token expiry, a wrong secret, and no credentials at all. Real HTTP on 127.0.0.1, no mocks."""

from __future__ import annotations

import datetime as dt
import gzip
import math
import os
import time
from pathlib import Path

import duckdb
import orjson
import pytest

from orchestration.defs.extract import materialize_extract
from orchestration.extract.auth import TokenRequestFailed
from orchestration.extract.extractor import extract
from orchestration.extract.settings import ExtractSettings
from synthetic.generator import generate
from tests.extract_sandbox import CREDENTIALS, Sandbox

pytestmark = pytest.mark.e2e

FIRST, SECOND = dt.date(2025, 11, 1), dt.date(2025, 11, 8)
PAGE = 8


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(out, organizations=2, referrals=60, start=FIRST, days=8, snapshot_every=7, seed=5)
    return out


@pytest.fixture(scope="module")
def sandbox(generated, request) -> Sandbox:
    box = Sandbox(generated)
    request.addfinalizer(box.stop)
    return box


@pytest.fixture
def box(sandbox) -> Sandbox:
    sandbox.reset(clock=f"{FIRST}T20:00:00Z")
    return sandbox


@pytest.fixture
def pc_env(box, tmp_path):
    """The extractor's environment pointed at the sandbox, for Dagster runs (restored after)."""
    env = box.env(page_size=str(PAGE)) | {"DAGSTER_HOME": str(tmp_path / "dagster_home")}
    (tmp_path / "dagster_home").mkdir()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def _settings(box: Sandbox, **overrides) -> ExtractSettings:
    env = box.env(page_size=str(PAGE))
    return ExtractSettings.from_env(env, **overrides)


def _run(box, tmp: Path, source="referrals", **overrides):
    tmp.mkdir(parents=True, exist_ok=True)
    return extract(source, _settings(box, **overrides), tmp / "raw",
                   lambda: duckdb.connect(str(tmp / "wh.duckdb")))


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as f:
        return f.read().splitlines()


def _first_snapshot_ids(generated: Path) -> set[str]:
    with open(generated / "referrals" / f"{FIRST}.jsonl", "rb") as f:
        return {orjson.loads(line)["id"] for line in f if line.strip()}


def test_nextlink_and_skip_paging_land_the_same_records(box, generated, tmp_path):
    expected = _first_snapshot_ids(generated)
    n = len(expected)
    assert n % PAGE != 0  # the last page is a short one

    by_link = _run(box, tmp_path / "link")
    box.reset(clock=f"{FIRST}T20:00:00Z", next_link=False)
    by_skip = _run(box, tmp_path / "skip")

    assert (by_link.paging, by_skip.paging) == ("nextLink", "$skip")
    assert by_link.records == by_skip.records == n
    assert by_link.pages == by_skip.pages == math.ceil(n / PAGE)
    link_lines = _lines(tmp_path / "link" / "raw" / by_link.landed_file)
    assert link_lines == _lines(tmp_path / "skip" / "raw" / by_skip.landed_file)
    assert {orjson.loads(line)["id"] for line in link_lines} == expected
    updated = [orjson.loads(line)["updatedDateTime"] for line in link_lines]
    assert updated == sorted(updated)  # $orderby=updatedDateTime asc
    assert by_link.landed_file == f"referrals/{FIRST}.jsonl.gz"  # the service's date
    assert by_link.watermark_after.startswith(max(updated).removesuffix("Z"))


def test_throttling_errors_and_a_dropped_connection_are_retried_to_the_same_result(box, tmp_path):
    clean = _run(box, tmp_path / "clean")
    box.reset(clock=f"{FIRST}T20:00:00Z")
    box.faults(
        {"kind": "429", "endpoint": "referrals", "after": 1, "retry_after": 0.4},
        {"kind": "500", "endpoint": "referrals", "after": 2, "count": 2},
        {"kind": "drop", "endpoint": "referrals", "after": 3},
    )
    started = time.monotonic()
    faulted = _run(box, tmp_path / "faulted")
    assert time.monotonic() - started >= 0.4  # Retry-After was honoured
    stats = box.stats()
    assert (stats["faults.429"], stats["faults.500"], stats["faults.drop"]) == (1, 2, 1)
    assert faulted.retries == 4
    assert faulted.records == clean.records and faulted.pages == clean.pages
    assert _lines(tmp_path / "faulted" / "raw" / faulted.landed_file) == _lines(
        tmp_path / "clean" / "raw" / clean.landed_file
    )


def test_a_response_slower_than_the_timeout_is_retried(box, generated, tmp_path):
    box.faults({"kind": "slow", "endpoint": "referrals", "after": 1, "delay": 1.5})
    result = _run(box, tmp_path, timeout_seconds=0.5)
    assert result.retries == 1 and box.stats()["faults.slow"] == 1
    assert result.records == len(_first_snapshot_ids(generated))


def test_after_the_retry_limit_the_asset_fails_lands_nothing_and_keeps_the_watermark(
    box, pc_env, tmp_path
):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    assert materialize_extract(raw, warehouse).success
    with duckdb.connect(str(warehouse)) as con:
        before = con.execute("select * from ops.extract_watermarks order by all").fetchall()

    box.reset(clock=f"{SECOND}T20:00:00Z")
    box.faults({"kind": "500", "endpoint": "referrals", "after": 1, "count": -1})
    os.environ["REFERRAL_INSIGHTS_PC_MAX_RETRIES"] = "2"
    try:
        run = materialize_extract(raw, warehouse)
    finally:
        del os.environ["REFERRAL_INSIGHTS_PC_MAX_RETRIES"]

    assert not run.success
    failures = [e for e in run.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["extract__referrals"]
    message = failures[0].step_failure_data.error.cause.message
    assert "/v1.0/engagements/referrals" in message and "HTTP 500" in message
    assert "after 3 attempts" in message and "skiptoken" in message  # the second page's URL
    assert box.stats()["faults.500"] == 3  # the first try and two retries
    # nothing of the failed run landed, not even a temporary file ...
    assert sorted(p.name for p in (raw / "referrals").iterdir()) == [f"{FIRST}.jsonl.gz"]
    # ... while the other sources of the same run did land
    assert (raw / "solutions" / f"{SECOND}.jsonl.gz").exists()
    with duckdb.connect(str(warehouse)) as con:
        after = con.execute("select * from ops.extract_watermarks order by all").fetchall()
    assert [r for r in after if r[0] == "referrals"] == [r for r in before if r[0] == "referrals"]


def test_token_expiry_mid_run_renews_the_token_once(box, generated, tmp_path):
    box.faults({"kind": "expire_token", "endpoint": "referrals", "after": 2})
    result = _run(box, tmp_path)
    stats = box.stats()
    assert stats["token.issued.refresh_token"] == 2  # the first token and one renewal
    # (the sandbox may count a 401 of a request left over from an earlier test on a busy machine;
    # what the extractor did is in its own counts below)
    assert stats["status.referrals.401"] >= 1
    assert result.token_renewals == 1 and result.retries == 0
    assert result.records == len(_first_snapshot_ids(generated))


def test_wrong_secret_fails_fast_with_a_message_without_the_secret(box, pc_env, tmp_path):
    wrong = "Wr0ng-s3cret-value-4711"
    started = time.monotonic()
    with pytest.raises(TokenRequestFailed) as caught:
        _run(box, tmp_path, client_secret=wrong)
    assert time.monotonic() - started < 2.0
    message = str(caught.value)
    assert "HTTP 401" in message and "invalid_client" in message
    assert f"{box.url}/sandbox-tenant/oauth2/v2.0/token" in message
    assert wrong not in message
    assert box.stats()["token.rejected.invalid_client"] == 1  # a 401 is not retried

    # through Dagster: the secret is in no event of the run, no landed file, no table
    os.environ["REFERRAL_INSIGHTS_PC_CLIENT_SECRET"] = wrong
    run = materialize_extract(tmp_path / "raw", tmp_path / "wh.duckdb")
    assert not run.success
    events = "\n".join(str(e) for e in run.all_events)
    assert "invalid_client" in events and wrong not in events
    landed = [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]
    assert all(wrong.encode() not in p.read_bytes() for p in landed)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        assert con.execute("select count(*) from ops.extract_watermarks").fetchone() == (0,)


def test_without_credentials_the_assets_are_skipped_and_nothing_is_asked(box, tmp_path):
    saved = {k: os.environ.pop(k, None) for k in CREDENTIALS}
    try:
        run = materialize_extract(tmp_path / "raw", tmp_path / "wh.duckdb")
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})
    assert run.success
    for node in ("extract__referrals", "extract__solutions", "extract__marketplace_traffic"):
        (materialization,) = run.asset_materializations_for_node(node)
        assert materialization.metadata["status"].value == "skipped"
        assert "REFERRAL_INSIGHTS_PC_TENANT_ID" in materialization.metadata["reason"].value
    assert not (tmp_path / "raw").exists()
    assert not any(k.startswith("requests.") for k in box.stats())
