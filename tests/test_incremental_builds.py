"""Incremental builds on a copy of the end-to-end warehouse (the landing zone of
tests/e2e_landing.py): an incremental refresh equals a full rebuild, changed dbt code or a user's
request rebuilds in full, and the versions guard catches a re-landed file whose full-refresh
request went missing. (A module of its own so that pytest-xdist runs it beside
test_end_to_end.py.)"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.refresh import run_refresh
from tests.conftest import computed_marts, inbound, write_jsonl
from tests.e2e_landing import (
    M2_MSFT_COPY,
    R1_ACCEPTED,
    R2_OUTBOUND,
    R3_MARKETPLACE,
    R5_NEW,
    D,
    land,
    rows,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    land(tmp / "raw")
    summary = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    yield summary, con, tmp
    con.close()


# the intermediate tables built incrementally by referral (docs.md "referral_incremental_chain")
REFERRAL_CHAIN = (
    "int_referral_status_history", "int_referrals_current", "int_referrals_categorized",
    "int_referral_events",
)


def chain_tables(con) -> dict[str, list]:
    return {t: con.execute(f"select * from intermediate.{t} order by all").fetchall() for t in REFERRAL_CHAIN}


def test_incremental_refresh_equals_full_rebuild(refreshed, tmp_path):
    """A third snapshot loads incrementally into a copy of the warehouse; its marts and the
    referral-keyed intermediate tables equal a from-scratch build of all the files. The snapshot
    exercises each way a referral changes: a new version (R5 accepted), a new referral (R6), a
    version older than stored ones (R1, 03-15: it re-sequences R1's history), and a Microsoft
    copy whose acceptance moves while the partner's referral R2 itself does not change."""
    _, _, tmp = refreshed
    raw = tmp_path / "raw"
    shutil.copytree(tmp / "raw", raw)
    shutil.copy(tmp / "wh.duckdb", tmp_path / "wh.duckdb")
    write_jsonl(raw / "referrals/2026-04-13.jsonl", [
        R5_NEW | dict(status="Active", substatus="Accepted", acceptedDateTime="2026-04-08T00:00:00Z",
                      updatedDateTime="2026-04-08T00:00:00Z"),
        inbound("R6", createdDateTime="2026-04-10T00:00:00Z", updatedDateTime="2026-04-10T00:00:00Z",
                status="New", substatus="Received"),
        R1_ACCEPTED | dict(name="R1 renamed", updatedDateTime="2026-03-15T00:00:00Z"),
        M2_MSFT_COPY | dict(acceptedDateTime="2026-02-18T08:00:00Z", updatedDateTime="2026-04-12T00:00:00Z"),
    ])
    inc = run_refresh(raw, tmp_path / "wh.duckdb")
    assert inc.success and inc.files_loaded == 1 and inc.as_of_date == D(2026, 4, 13)
    full = run_refresh(raw, tmp_path / "fresh.duckdb")
    assert full.success and full.files_loaded == 7
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as a, \
            duckdb.connect(str(tmp_path / "fresh.duckdb"), read_only=True) as b:
        assert computed_marts(a) == computed_marts(b)
        assert chain_tables(a) == chain_tables(b)
        # the incremental build took the incremental branch: rows of referrals the snapshot did
        # not touch kept their watermark, the changed ones moved to 04-13
        changed = dict(rows(a, "select referral_id, last_changed_snapshot_date from intermediate.int_referrals_current"))
        assert changed == {"R1": D(2026, 4, 13), "R2": D(2026, 3, 2), "M2": D(2026, 4, 13),
                           "R3": D(2026, 4, 6), "R4": D(2026, 4, 6), "R5": D(2026, 4, 13), "R6": D(2026, 4, 13)}
        # the new acceptance shows in the incremental build
        assert rows(a, "select referrals_accepted from marts.mart_referrals_daily where date = '2026-04-08'") == [(1,)]
        # Microsoft's acceptance of R2 moved from 02-20 to 02-18 although R2 did not change
        assert rows(a, "select event_date from intermediate.int_referral_events "
                       "where referral_id = 'R2' and event_type = 'accepted_by_microsoft'") == [(D(2026, 2, 18),)]


def _corrupt_r3(warehouse: Path) -> None:
    """A value no incremental build would rewrite (R3 has no new version) and no data test
    looks at: only a full refresh puts it right."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update intermediate.int_referrals_categorized set referral_name = 'stale' "
                    "where referral_id = 'R3'")


def _name_of_r3(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return rows(con, "select referral_name from intermediate.int_referrals_categorized "
                         "where referral_id = 'R3'")[0][0]


def test_changed_dbt_code_or_a_user_request_rebuilds_incremental_models_in_full(refreshed, tmp_path):
    """The incremental models cannot see a change of their own SQL: a build whose dbt code
    differs from the last successful one runs --full-refresh; so does `refresh --full-refresh`."""
    _, _, tmp = refreshed
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(tmp / "wh.duckdb", warehouse)

    name = _name_of_r3(warehouse)
    _corrupt_r3(warehouse)
    with duckdb.connect(str(warehouse)) as con:  # as if the models changed since the last build
        con.execute("update ops.dbt_build_state set code_fingerprint = 'older code'")
    assert run_refresh(tmp / "raw", warehouse, force=True).success
    assert _name_of_r3(warehouse) == name != "stale"

    _corrupt_r3(warehouse)
    assert run_refresh(tmp / "raw", warehouse, force=True).success  # same code: incremental
    assert _name_of_r3(warehouse) == "stale"
    assert run_refresh(tmp / "raw", warehouse, full_refresh=True).success
    assert _name_of_r3(warehouse) == name
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert rows(con, "select count(*) from raw.full_refresh_requests") == [(0,)]


def test_incremental_build_guard_catches_a_relanded_file_without_full_refresh(refreshed, tmp_path):
    """The in-sync guard of int_referral_versions, scoped in an incremental build to the files
    loaded since the previous build: a re-landed file whose full-refresh request went missing
    (simulated) fails the build instead of leaving versions that raw no longer has; the
    requested full refresh then repairs it."""
    from orchestration.ingestion import landing, loader

    _, _, tmp = refreshed
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    shutil.copytree(tmp / "raw", raw)
    shutil.copy(tmp / "wh.duckdb", warehouse)
    # R4's first version was first seen in this file: re-land it without that record
    write_jsonl(raw / "referrals/2026-03-02.jsonl", [R1_ACCEPTED, R2_OUTBOUND, M2_MSFT_COPY, R3_MARKETPLACE])
    relanded = [f for f in landing.discover(raw).files if f.file_name == "referrals/2026-03-02.jsonl"]
    with duckdb.connect(str(warehouse)) as con:
        assert loader.load_files(con, relanded)[0].status == "loaded"
        assert rows(con, "select count(*) from raw.full_refresh_requests") == [(1,)]
        con.execute("delete from raw.full_refresh_requests")  # the bug the guard is there for

    assert not run_refresh(raw, warehouse, force=True).success
    assert run_refresh(raw, warehouse, full_refresh=True).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert rows(con, "select min(updated_at) from intermediate.int_referral_versions "
                         "where referral_id = 'R4'") == [(dt.datetime(2026, 4, 3),)]
