"""The landing zone over time (raw-contract.md section 4, as amended): snapshot dates before
2020, files dated after tomorrow, sources arriving independently, files that disappear, and
`forget`; plus the largest valid counts and amounts, which no mart may overflow on."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from orchestration.refresh import ForgetRefused, forget, run_refresh
from tests.conftest import inbound, solution, write_csv, write_jsonl

pytestmark = pytest.mark.e2e

MAX_COUNT = 2**53 - 1
OLD = "referrals/2019-06-03.jsonl"


def land(raw):
    # a snapshot from 2019 (before the first partition) with a referral of its own
    write_jsonl(raw / OLD, [inbound(
        "OLD", createdDateTime="2019-06-01T00:00:00Z", updatedDateTime="2019-06-01T00:00:00Z",
        status="New", substatus="Received")])  # fmt: skip
    write_jsonl(raw / "referrals/2026-04-06.jsonl", [
        inbound("R1", createdDateTime="2026-04-01T00:00:00Z", acceptedDateTime="2026-04-02T00:00:00Z",
                closedDateTime="2026-04-03T00:00:00Z", updatedDateTime="2026-04-03T00:00:00Z",
                status="Closed", substatus="Won", details={"dealValue": 1e300, "currency": "USD"}),
        inbound("R2", createdDateTime="2026-04-01T00:00:00Z", acceptedDateTime="2026-04-02T00:00:00Z",
                closedDateTime="2026-04-04T00:00:00Z", updatedDateTime="2026-04-04T00:00:00Z",
                status="Closed", substatus="Won", details={"dealValue": 1e300, "currency": "USD"}),
    ])  # fmt: skip
    write_jsonl(raw / "solutions/2026-04-06.jsonl", [solution()])
    # traffic a day ahead of the referrals, at the largest valid counts on three offers
    write_csv(raw / "marketplace_traffic/2026-04-07.csv", [
        f"2026-04-07,org-a,offer-{i},{MAX_COUNT},{MAX_COUNT}" for i in (1, 2, 3)])  # fmt: skip
    # dated after tomorrow: waiting
    write_jsonl(raw / "referrals/2099-01-05.jsonl", [inbound("FUTURE")])


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lifecycle")
    land(tmp / "raw")
    summary = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    return summary, tmp


def query(tmp, sql):
    with duckdb.connect(str(tmp / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_old_snapshots_load_and_future_ones_wait(refreshed):
    summary, tmp = refreshed
    assert summary.success, summary
    assert summary.files_loaded == 4 and summary.files_failed == 0
    assert summary.waiting_files == ["referrals/2099-01-05.jsonl"]
    assert summary.as_of_date == dt.date(2026, 4, 6)
    assert query(tmp, "select referral_id from intermediate.int_referrals_current order by 1") == [
        ("OLD",), ("R1",), ("R2",)
    ]
    assert query(tmp, "select referrals_created from marts.mart_referrals_daily "
                      "where date = '2019-06-01'") == [(1,)]


def test_largest_valid_counts_and_amounts_build_and_no_widget_fails_for_early_traffic(refreshed):
    _, tmp = refreshed
    # three offers at 2^53 - 1 each: summed exactly in the daily mart (below 2^63)
    assert query(tmp, "select page_views, cta_clicks from marts.mart_leads_daily "
                      "where date = '2026-04-07'") == [(3 * MAX_COUNT, 3 * MAX_COUNT)]
    # two deals of 1e300 USD on different days: each day's revenue exact, no overflow
    assert query(tmp, "select date, won_value_usd from marts.mart_revenue_daily order by 1") == [
        (dt.date(2026, 4, 3), 1e300), (dt.date(2026, 4, 4), 1e300)
    ]
    statuses = dict(query(tmp, "select mart, status from marts.mart_widget_refresh"))
    assert statuses["mart_leads_daily"] != "failed"
    assert "failed" not in statuses.values(), statuses


def test_a_gone_file_keeps_its_records_until_forgotten(refreshed):
    _, tmp = refreshed
    with pytest.raises(ForgetRefused, match="still in the landing zone"):
        forget(tmp / "raw", tmp / "wh.duckdb", OLD)
    (tmp / "raw" / OLD).unlink()
    again = run_refresh(tmp / "raw", tmp / "wh.duckdb")
    assert again.success and again.gone_files == [OLD]
    assert query(tmp, "select count(*) from raw.referral_snapshots where source_file = "
                      f"'{OLD}'") == [(1,)]

    removed, rebuilt = forget(tmp / "raw", tmp / "wh.duckdb", OLD)
    assert removed == {"referral_snapshots": 1, "referral_registrations": 0, "quarantine": 0}
    assert rebuilt.success and rebuilt.gone_files == []
    assert query(tmp, "select referral_id from intermediate.int_referrals_current order by 1") == [
        ("R1",), ("R2",)
    ]
    with pytest.raises(ForgetRefused, match="never loaded"):
        forget(tmp / "raw", tmp / "wh.duckdb", OLD)
