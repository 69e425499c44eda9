"""Full refreshes on a small hand-built landing zone (tests/e2e_landing.py); every expected number
is worked out by hand in the comments from its records (as-of date 2026-04-06). Incremental builds
on a copy of this warehouse: test_incremental_builds.py."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from orchestration.refresh import run_refresh
from tests.conftest import computed_marts, run_dbt
from tests.e2e_landing import D, fx, land, rows

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    land(tmp / "raw")
    summary = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    yield summary, con, tmp
    con.close()




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


def test_a_refresh_with_nothing_new_is_a_no_op(refreshed):
    """Nothing landed and no code changed: the warehouse is reported up to date, not rebuilt."""
    _, con, tmp = refreshed
    before = computed_marts(con)
    con.close()
    again = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    assert again.success and again.job == "none" and again.files_loaded == 0
    with duckdb.connect(str(tmp / "wh.duckdb"), read_only=True) as after:
        assert computed_marts(after) == before


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
