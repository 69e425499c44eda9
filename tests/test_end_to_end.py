"""Full refreshes on a small hand-built landing zone; every expected number is worked out by hand
in the comments from the records below (as-of date 2026-04-06)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.refresh import run_refresh
from tests.conftest import computed_marts, inbound, run_dbt, solution, write_csv, write_jsonl

pytestmark = pytest.mark.e2e

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
D = dt.date


def fx(currency: str, month: str) -> float:
    with open(SEEDS / "fx_rates.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["currency"] == currency and row["month"] == month:
                return float(row["rate_to_usd"])
    raise KeyError((currency, month))


R1_ACCEPTED = inbound(  # cosell_inbound, accepted after 23 h → '< 1 day'
    "R1", createdDateTime="2026-02-10T10:00:00Z", acceptedDateTime="2026-02-11T09:00:00Z",
    updatedDateTime="2026-02-11T09:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 1000, "currency": "USD"},
)
R2_OUTBOUND = inbound(  # cosell_outbound, accepted at creation
    "R2", engagementId="E2", direction="Outgoing", inviteContext=None,
    createdDateTime="2026-02-15T12:00:00Z", acceptedDateTime="2026-02-15T12:00:00Z",
    updatedDateTime="2026-02-15T12:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 2000, "currency": "EUR"},
)
M2_MSFT_COPY = inbound(  # Microsoft's copy of R2, accepted by Microsoft on 2026-02-20
    "M2", engagementId="E2", organizationId="msft", inviteContext=None,
    createdDateTime="2026-02-15T12:00:00Z", acceptedDateTime="2026-02-20T08:00:00Z",
    updatedDateTime="2026-02-20T08:00:00Z", status="Active", substatus="Accepted",
)
R3_MARKETPLACE = inbound(  # marketplace_lead (Independent + Direct), unanswered
    "R3", type="Independent", inviteContext=None, createdDateTime="2026-02-20T00:00:00Z",
    updatedDateTime="2026-02-20T00:00:00Z", status="New", substatus="Received",
)
R4_QRP = inbound(  # qualified_lead in QRP ContactRequest, accepted after exactly 72 h → '3-7 days'
    "R4", type="Independent", qualification="SalesQualified", referralProgram="ContactRequest",
    customerProfile={"address": {"country": "NL"}},
    createdDateTime="2026-02-01T00:00:00Z", acceptedDateTime="2026-02-04T00:00:00Z",
    updatedDateTime="2026-02-04T00:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 500, "currency": "GBP"},
)

# --- snapshot 2 (2026-04-06, incremental) ------------------------------------------------------
R1_WON = R1_ACCEPTED | dict(  # won 2026-04-01 after 50 days → '30-60 days'; IP co-sell approved
    status="Closed", substatus="Won", closedDateTime="2026-04-01T10:00:00Z",
    updatedDateTime="2026-04-02T12:00:00Z",
    registrations=[{"id": "G1", "status": "Approved", "contract": {"value": 300, "currency": "USD"},
                    "statusHistory": {"approvedDateTime": "2026-04-02T12:00:00Z"}}],
)
R3_EXPIRED = R3_MARKETPLACE | dict(
    status="Closed", substatus="Expired", closedDateTime="2026-03-06T00:00:00Z",
    updatedDateTime="2026-03-06T00:00:00Z",
)
R4_WON = R4_QRP | dict(  # Won without closedDateTime: dated by this version's update, 61 days
    status="Closed", substatus="Won", updatedDateTime="2026-04-03T00:00:00Z",
)
R5_NEW = inbound(
    "R5", createdDateTime="2026-04-05T00:00:00Z", updatedDateTime="2026-04-05T00:00:00Z",
    status="New", substatus="Received",
)


def land(raw: Path) -> None:
    write_jsonl(raw / "referrals/2026-03-02.jsonl", [R1_ACCEPTED, R2_OUTBOUND, M2_MSFT_COPY, R3_MARKETPLACE, R4_QRP])
    write_jsonl(raw / "referrals/2026-04-06.jsonl", [R1_WON, R3_EXPIRED, R4_WON, R5_NEW, inbound("BAD", status="Bogus")])
    write_jsonl(raw / "solutions/2026-03-02.jsonl", [
        solution(id="S1", coSellStatus="InMarket"),
        solution(id="S2", coSellStatus="CoSellReady"),
        solution(id="S3", coSellStatus="AzureIpCoSellIncentive"),
        solution(id="S4", coSellStatus="CoSellReady", publishStatus="Draft"),
    ])
    write_jsonl(raw / "solutions/2026-04-06.jsonl", [
        solution(id="S1", coSellStatus="CoSellReady", updatedDateTime="2026-04-01T00:00:00Z"),
    ])
    write_csv(raw / "marketplace_traffic/2026-03-02.csv", ["2026-03-01,org-a,offer-1,100,5", "2026-03-02,org-a,offer-1,50,2"])
    # restates 2026-03-02 (50,2 → 60,3)
    write_csv(raw / "marketplace_traffic/2026-04-06.csv", ["2026-03-02,org-a,offer-1,60,3", "2026-04-05,org-a,offer-1,10,1"])


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    land(tmp / "raw")
    summary = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    yield summary, con, tmp
    con.close()


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_refresh_summary(refreshed):
    summary, con, _ = refreshed
    assert summary.success
    # 6 files; 5 + 4 referral records, 4 + 1 solutions, 2 + 2 traffic rows; BAD is quarantined
    assert (summary.files_loaded, summary.files_failed) == (6, 0)
    assert (summary.records_loaded, summary.records_quarantined) == (18, 1)
    assert summary.as_of_date == D(2026, 4, 6)


def test_referrals_daily(refreshed):
    _, con, _ = refreshed
    got = rows(con, """select date, referral_category, referrals_created, referrals_accepted, referrals_won
                       from marts.mart_referrals_daily where organization_id = 'org-a' order by 1, 2""")
    assert got == [
        (D(2026, 2, 1), "qualified_lead", 1, 0, 0),
        (D(2026, 2, 4), "qualified_lead", 0, 1, 0),
        (D(2026, 2, 10), "cosell_inbound", 1, 0, 0),
        (D(2026, 2, 11), "cosell_inbound", 0, 1, 0),
        (D(2026, 2, 15), "cosell_outbound", 1, 1, 0),
        (D(2026, 2, 20), "marketplace_lead", 1, 0, 0),
        (D(2026, 4, 1), "cosell_inbound", 0, 0, 1),
        (D(2026, 4, 3), "qualified_lead", 0, 0, 1),  # Won, no closedDateTime: first Won version
        (D(2026, 4, 5), "cosell_inbound", 1, 0, 0),
    ]
    # Microsoft's copy is not a partner referral
    assert rows(con, "select count(*) from marts.mart_referrals_daily where organization_id = 'msft'") == [(0,)]


def test_cosell_and_leads_daily(refreshed):
    _, con, _ = refreshed
    assert rows(con, """select date, inbound, outbound, accepted, accepted_by_microsoft, won
                        from marts.mart_cosell_daily order by 1""") == [
        (D(2026, 2, 10), 1, 0, 0, 0, 0),
        (D(2026, 2, 11), 0, 0, 1, 0, 0),
        (D(2026, 2, 15), 0, 1, 0, 0, 0),
        (D(2026, 2, 20), 0, 0, 0, 1, 0),  # M2's acceptedDateTime
        (D(2026, 4, 1), 0, 0, 0, 0, 1),
        (D(2026, 4, 5), 1, 0, 0, 0, 0),
    ]
    assert rows(con, """select date, page_views, cta_clicks, leads_received, leads_accepted, leads_won
                        from marts.mart_leads_daily order by 1""") == [
        (D(2026, 2, 1), 0, 0, 1, 0, 0),
        (D(2026, 2, 4), 0, 0, 0, 1, 0),
        (D(2026, 2, 20), 0, 0, 1, 0, 0),
        (D(2026, 3, 1), 100, 5, 0, 0, 0),
        (D(2026, 3, 2), 60, 3, 0, 0, 0),  # restated by the later file
        (D(2026, 4, 3), 0, 0, 0, 0, 1),
        (D(2026, 4, 5), 10, 1, 0, 0, 0),
    ]


def test_distribution_and_solutions(refreshed):
    _, con, _ = refreshed
    assert rows(con, """select referral_category, status, substatus, referral_count, as_of_date
                        from marts.mart_referral_distribution order by 1, 2, 3""") == [
        ("cosell_inbound", "Closed", "Won", 1, D(2026, 4, 6)),
        ("cosell_inbound", "New", "Received", 1, D(2026, 4, 6)),
        ("cosell_outbound", "Active", "Accepted", 1, D(2026, 4, 6)),
        ("marketplace_lead", "Closed", "Expired", 1, D(2026, 4, 6)),
        ("qualified_lead", "Closed", "Won", 1, D(2026, 4, 6)),
    ]
    # S1 moved InMarket → CoSellReady; S4 is a Draft; all three buckets exist
    assert rows(con, """select co_sell_status, solution_count from marts.mart_solutions_outlook
                        where organization_id = 'org-a' order by 1""") == [
        ("Azure IP co-sell incentive", 1), ("Co-sell ready", 2), ("In market", 0),
    ]


def test_time_distributions(refreshed):
    _, con, _ = refreshed
    assert rows(con, """select date, referral_kind, bucket, bucket_order, referral_count
                        from marts.mart_acceptance_time_distribution order by 1""") == [
        (D(2026, 2, 4), "lead", "3-7 days", 3, 1),  # exactly 72 h
        (D(2026, 2, 11), "co-sell", "< 1 day", 1, 1),  # 23 h; the outbound R2 is excluded
    ]
    assert rows(con, """select date, referral_kind, bucket, bucket_order, referral_count
                        from marts.mart_win_time_distribution order by 1""") == [
        (D(2026, 4, 1), "co-sell", "30-60 days", 2, 1),  # 2026-02-10 10:00 → 2026-04-01 10:00 = 50 d
        (D(2026, 4, 3), "lead", "60-90 days", 3, 1),  # 2026-02-01 → 2026-04-03 = 61 d
    ]


def test_revenue(refreshed):
    _, con, _ = refreshed
    got = rows(con, """select date, referral_kind, won_count, won_value_usd, ip_cosell_approved_value_usd
                       from marts.mart_revenue_daily order by 1""")
    assert got == [
        (D(2026, 4, 1), "co-sell", 1, 1000.0, 0.0),
        (D(2026, 4, 2), "co-sell", 0, 0.0, 300.0),
        (D(2026, 4, 3), "lead", 1, pytest.approx(500 * fx("GBP", "2026-04-01")), 0.0),
    ]


def test_qrp_kpis_recomputed_from_current_state_and_history(refreshed):
    _, con, _ = refreshed
    cols = """country, month, referrals_received, referrals_accepted, referrals_won, closed_within_60d,
              accept_rate_pct, expiry_rate_pct, close_rate_60d_pct, win_rate_pct,
              accept_rate_status, close_rate_60d_status, win_rate_status, goals_met"""
    # R4 now Won, without closedDateTime (so not "closed within 60 days"): win rate 1/1
    expected_now = (D(2026, 2, 1), 1, 1, 1, 0, 100.0, 0.0, 0.0, 100.0, "Goal met", "Below goal", "Goal met", 3)
    got = rows(con, f"select program, {cols} from marts.mart_qrp_monthly_kpis order by country")
    assert got == [("Contact request", "ALL", *expected_now), ("Contact request", "NL", *expected_now)]
    # as reported on 2026-03-02, R4 was only accepted: win rate undefined, 2 goals met
    history = rows(con, f"select as_of_date, {cols} from marts.mart_qrp_kpi_history where country = 'NL' order by 1")
    assert history == [
        (D(2026, 3, 2), "NL", D(2026, 2, 1), 1, 1, 0, 0, 100.0, 0.0, 0.0, None, "Goal met", "Below goal", None, 2),
        (D(2026, 4, 6), "NL", *expected_now),
    ]


def test_overview_summary(refreshed):
    _, con, _ = refreshed
    summary = {
        (r, m): (start, v)
        for r, m, start, v in rows(con, "select time_range, metric, range_start, value from marts.mart_overview_summary")
    }
    assert len(summary) == 4 * 17
    # 3M = (2026-01-06, 2026-04-06]: every event above
    three = {m: v for (r, m), (_, v) in summary.items() if r == "3M"}
    assert summary[("3M", "referrals_total")][0] == D(2026, 1, 7)
    assert three["referrals_total"] == 5 and three["referrals_accepted"] == 3 and three["referrals_won"] == 2
    assert (three["cosell_inbound"], three["cosell_outbound"], three["cosell_accepted"]) == (2, 1, 1)
    assert (three["cosell_accepted_by_microsoft"], three["cosell_won"]) == (1, 1)
    assert three["cosell_win_rate_pct"] == 50.0  # 100 * 1 / (1 accepted + 1 outbound)
    assert (three["leads_page_views"], three["leads_cta_clicks"]) == (170, 9)
    assert (three["leads_received"], three["leads_accepted"], three["leads_won"]) == (2, 1, 1)
    assert three["leads_win_rate_pct"] == 100.0
    assert three["revenue_won_usd"] == pytest.approx(1000 + 500 * fx("GBP", "2026-04-01"))
    assert three["revenue_ip_cosell_approved_usd"] == 300
    # 1M = (2026-03-06, 2026-04-06]: R5 created, R1 and R4 won, 10 page views; no acceptances
    one = {m: v for (r, m), (_, v) in summary.items() if r == "1M"}
    assert summary[("1M", "referrals_total")][0] == D(2026, 3, 7)
    assert (one["referrals_total"], one["referrals_won"], one["cosell_won"], one["leads_won"]) == (1, 2, 1, 1)
    assert one["cosell_win_rate_pct"] is None and one["leads_win_rate_pct"] is None
    assert one["leads_page_views"] == 10


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


def test_a_refresh_with_nothing_new_is_a_no_op(refreshed):
    """Nothing landed and no code changed: the warehouse is reported up to date, not rebuilt."""
    _, con, tmp = refreshed
    before = computed_marts(con)
    con.close()
    again = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    assert again.success and again.job == "none" and again.files_loaded == 0
    with duckdb.connect(str(tmp / "wh.duckdb"), read_only=True) as after:
        assert computed_marts(after) == before


def test_a_refresh_with_nothing_new_never_imports_dagster(refreshed):
    """The no-op check is the whole of that refresh (~0.5 s at 1M referrals): importing Dagster
    would triple it. A fresh interpreter, as the CLI runs it."""
    _, con, tmp = refreshed
    con.close()
    check = (
        "import sys; from pathlib import Path; from orchestration.refresh import run_refresh; "
        f"s = run_refresh(Path({str(tmp / 'raw')!r}), Path({str(tmp / 'wh.duckdb')!r})); "
        "assert s.success and s.job == 'none', s; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_dbt', 'dbt')))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


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
    assert _last_build_failed_tests(warehouse) == ["assert_referral_versions_in_sync_with_staging"]
    assert run_refresh(raw, warehouse, full_refresh=True).success
    # a full build rebuilds the versions from every raw record: the guard is left out of it
    assert "assert_referral_versions_in_sync_with_staging" not in _last_build_nodes(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert rows(con, "select min(updated_at) from intermediate.int_referral_versions "
                         "where referral_id = 'R4'") == [(dt.datetime(2026, 4, 3),)]


def _last_build_results(warehouse: Path) -> list[dict]:
    """The results of the newest dbt build of this warehouse (its dbt artifacts folder)."""
    from orchestration import settings

    artifacts = settings.load().for_warehouse(warehouse).dbt_artifacts_dir
    folders = sorted(artifacts.glob("dbt_models-*"), key=lambda p: p.stat().st_mtime)
    return json.loads((folders[-1] / "run_results.json").read_text())["results"]


def _last_build_nodes(warehouse: Path) -> set[str]:
    return {r["unique_id"].split(".")[2] for r in _last_build_results(warehouse)}


def _last_build_failed_tests(warehouse: Path) -> list[str]:
    return [r["unique_id"].split(".")[2] for r in _last_build_results(warehouse)
            if r["unique_id"].startswith("test.") and r["status"] == "fail"]


def test_not_null_columns_names_the_column_holding_a_null(refreshed, tmp_path):
    """The per-model not-null test of the intermediate tables passes on the built warehouse and
    fails, naming the column, once a value it covers is NULL."""
    _, _, tmp = refreshed
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(tmp / "wh.duckdb", warehouse)

    def dbt_test():
        return run_dbt(["test", "--select", "int_referrals_current,test_name:not_null_columns",
                        "--store-failures"], warehouse, tmp_path / "target")

    assert dbt_test().returncode == 0
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update intermediate.int_referrals_current set created_at = null where referral_id = 'R3'")
    failed = dbt_test()
    assert failed.returncode == 1, failed.stdout[-2000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (audit,) = [t for (t,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema like '%dbt_test__audit'").fetchall()]
        assert rows(con, f"select * from {audit}") == [("created_at", 1)]
