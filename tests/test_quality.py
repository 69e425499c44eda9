"""Great Expectations validation of the widget marts: the suites, the runner, the data-refresh
details and the Dagster asset + checks.

One small landing zone (below) is ingested and built with dbt once per module (no Dagster, ~7 s);
every test works on a copy of that warehouse. Each suite gets one deliberately broken row and
must fail on exactly the expectation that guards it; a combined run checks quarantine, an
unreadable file and the asset checks. As-of date: 2026-04-06; the newest solution snapshot is
7 days older (within the default staleness threshold of 8).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration import settings
from orchestration.ingestion import landing, loader
from orchestration.quality import gx_project
from orchestration.quality.validation import validate_marts
from orchestration.quality.widget_refresh import (
    WIDGET_REFRESH_COLUMNS,
    read_validation_results,
    write_validation_run,
)
from orchestration.quality.widgets import WIDGETS, WIDGETS_BY_MART
from orchestration.settings import Settings
from tests.conftest import inbound, run_dbt, solution, write_csv, write_jsonl

pytestmark = pytest.mark.e2e

R1 = inbound(  # cosell_inbound, accepted; won in snapshot 2 with an approved IP co-sell registration
    "R1", createdDateTime="2026-02-10T10:00:00Z", acceptedDateTime="2026-02-11T09:00:00Z",
    updatedDateTime="2026-02-11T09:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 1000, "currency": "USD"},
)  # fmt: skip
R1_WON = R1 | dict(
    status="Closed", substatus="Won", closedDateTime="2026-04-01T10:00:00Z",
    updatedDateTime="2026-04-02T12:00:00Z",
    registrations=[{"id": "G1", "status": "Approved", "contract": {"value": 300, "currency": "USD"},
                    "statusHistory": {"approvedDateTime": "2026-04-02T12:00:00Z"}}],
)  # fmt: skip
R2 = inbound(  # cosell_outbound, accepted at creation, accepted by Microsoft (M2) on 02-20
    "R2", engagementId="E2", direction="Outgoing", inviteContext=None,
    createdDateTime="2026-02-15T12:00:00Z", acceptedDateTime="2026-02-15T12:00:00Z",
    updatedDateTime="2026-02-15T12:00:00Z", status="Active", substatus="Accepted",
)  # fmt: skip
M2 = inbound(
    "M2", engagementId="E2", organizationId="msft", inviteContext=None,
    createdDateTime="2026-02-15T12:00:00Z", acceptedDateTime="2026-02-20T08:00:00Z",
    updatedDateTime="2026-02-20T08:00:00Z", status="Active", substatus="Accepted",
)  # fmt: skip
R3 = inbound(  # marketplace_lead: received, then accepted and won (snapshot 2)
    "R3", type="Independent", inviteContext=None, createdDateTime="2026-02-20T00:00:00Z",
    updatedDateTime="2026-02-20T00:00:00Z", status="New", substatus="Received",
)  # fmt: skip
R3_WON = R3 | dict(
    status="Closed", substatus="Won", acceptedDateTime="2026-03-05T00:00:00Z",
    closedDateTime="2026-04-03T00:00:00Z", updatedDateTime="2026-04-03T00:00:00Z",
    details={"dealValue": 250, "currency": "USD"},
)  # fmt: skip
R4 = inbound(  # qualified_lead in QRP ContactRequest, accepted; lost in snapshot 2
    "R4", type="Independent", qualification="SalesQualified", referralProgram="ContactRequest",
    customerProfile={"address": {"country": "NL"}}, createdDateTime="2026-02-01T00:00:00Z",
    acceptedDateTime="2026-02-04T00:00:00Z", updatedDateTime="2026-02-04T00:00:00Z",
    status="Active", substatus="Accepted",
)  # fmt: skip
R4_LOST = R4 | dict(
    status="Closed", substatus="Lost", closedDateTime="2026-03-20T00:00:00Z",
    updatedDateTime="2026-03-20T00:00:00Z",
)  # fmt: skip
R5 = inbound(
    "R5", createdDateTime="2026-04-05T00:00:00Z", updatedDateTime="2026-04-05T00:00:00Z",
    status="New", substatus="Received",
)  # fmt: skip


def land(raw: Path) -> None:
    write_jsonl(raw / "referrals/2026-03-02.jsonl", [R1, R2, M2, R3, R4])
    write_jsonl(raw / "referrals/2026-04-06.jsonl", [R1_WON, R3_WON, R4_LOST, R5])
    write_jsonl(raw / "solutions/2026-03-30.jsonl", [
        solution(id="S1", coSellStatus="InMarket"),
        solution(id="S2", coSellStatus="CoSellReady"),
        solution(id="S3", coSellStatus="AzureIpCoSellIncentive"),
    ])  # fmt: skip
    write_csv(raw / "marketplace_traffic/2026-03-02.csv", ["2026-03-01,org-a,offer-1,100,5"])
    write_csv(raw / "marketplace_traffic/2026-04-06.csv", ["2026-04-05,org-a,offer-1,10,1"])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A warehouse built from `land()` by the ingestion library and `dbt build` (models and
    seeds, no tests): real marts, real types, no validation yet."""
    tmp = tmp_path_factory.mktemp("quality")
    land(tmp / "raw")
    warehouse = tmp / "built.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        results = loader.load_files(con, landing.discover(tmp / "raw").files)
    assert all(r.status == "loaded" and not r.records_quarantined for r in results)
    done = run_dbt(
        ["build", "--exclude-resource-type", "test", "unit_test", "--quiet"], warehouse, tmp / "target"
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return warehouse


@pytest.fixture
def warehouse(built, tmp_path) -> Path:
    copy = tmp_path / "wh" / "wh.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(built, copy)
    return copy


def sql(warehouse: Path, statement: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(statement)


def validate_and_write(warehouse: Path, widgets=WIDGETS, max_staleness=8, docs=False):
    run = validate_marts(
        lambda: duckdb.connect(str(warehouse)),
        warehouse,
        max_staleness_days=max_staleness,
        widgets=widgets,
        build_docs=docs,
    )
    with duckdb.connect(str(warehouse)) as con:
        write_validation_run(con, run)
    return run


def widget_refresh(warehouse: Path) -> dict[str, dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("select * from marts.mart_widget_refresh")
        columns = [d[0] for d in cursor.description]
        return {row[1]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


# --- the suites ---------------------------------------------------------------------------------


def test_one_gx_suite_per_widget_mart_every_expectation_leveled():
    assert {p.stem for p in gx_project.SUITES_DIR.glob("*.json")} == set(WIDGETS_BY_MART)
    for widget in WIDGETS:
        suite = json.loads(gx_project.suite_path(widget.mart).read_text())
        assert suite["name"] == widget.mart and suite["meta"]["widget"] == widget.name
        types = [e["type"] for e in suite["expectations"]]
        assert {e["severity"] for e in suite["expectations"]} <= {"critical", "warning"}
        unique = [
            e for e in suite["expectations"] if e["type"] == "expect_compound_columns_to_be_unique"
        ]
        assert [u["kwargs"]["column_list"] for u in unique] == [list(widget.grain)]
        for required in (
            "expect_table_columns_to_match_ordered_list",
            "expect_column_values_to_be_of_type",
            "expect_column_values_to_not_be_null",
        ):
            assert required in types, (widget.mart, required)
        assert any("row_count" in t for t in types), widget.mart
        assert any(
            e["kwargs"].get("column") == "feeding_snapshot_age_days"
            and e["kwargs"].get("max_value") == {"$PARAMETER": "max_staleness_days"}
            and e["severity"] == "warning"
            for e in suite["expectations"]
        ), widget.mart
        gx_project.load_suite(widget.mart)  # GX reads it


def test_staleness_threshold_comes_from_the_environment():
    def threshold(environ):
        return Settings.from_env(environ).max_staleness_days

    assert threshold({}) == settings.DEFAULT_MAX_STALENESS_DAYS == 8
    assert threshold({settings.MAX_STALENESS_ENV: "15"}) == 15
    for bad in ("a week", "-1", "1.5"):
        with pytest.raises(ValueError, match=settings.MAX_STALENESS_ENV):
            threshold({settings.MAX_STALENESS_ENV: bad})


# --- one broken row per suite -------------------------------------------------------------------

BREAKS = {
    "mart_solutions_outlook": (
        "update marts.mart_solutions_outlook set co_sell_status = 'Retired' "
        "where co_sell_status = 'In market'",
        "expect_column_values_to_be_in_set(co_sell_status",
    ),
    "mart_referrals_daily": (  # a duplicated key (zero counts, so every sum still matches)
        "insert into marts.mart_referrals_daily select organization_id, date, referral_category, "
        "0, 0, 0 from marts.mart_referrals_daily limit 1",
        "expect_compound_columns_to_be_unique(organization_id, date, referral_category",
    ),
    "mart_cosell_daily": (
        "update marts.mart_cosell_daily set won = won + 1 where date = '2026-04-01'",
        "expect_column_pair_values_to_be_equal(won = referrals_daily_won",
    ),
    "mart_leads_daily": (
        "update marts.mart_leads_daily set leads_received = leads_received + 1 "
        "where date = '2026-03-01'",
        "expect_column_pair_values_to_be_equal(leads_received = referrals_daily_leads_received",
    ),
    "mart_referral_distribution": (
        "update marts.mart_referral_distribution set substatus = 'Won' where status = 'New'",
        "expect_column_pair_values_to_be_in_set((status, substatus)",
    ),
    "mart_qrp_monthly_kpis": (
        "update marts.mart_qrp_monthly_kpis set accept_rate_pct = 130 where country = 'NL'",
        "expect_column_values_to_be_between(accept_rate_pct, 0..100)",
    ),
    "mart_qrp_kpi_history": (
        "update marts.mart_qrp_kpi_history set referrals_accepted = referrals_received + 1 "
        "where country = 'NL' and as_of_date = '2026-04-06'",
        "expect_column_pair_values_a_to_be_greater_than_b(referrals_received >= referrals_accepted",
    ),
    "mart_acceptance_time_distribution": (
        "update marts.mart_acceptance_time_distribution set bucket_order = 5 "
        "where bucket = '< 1 day'",
        "expect_column_pair_values_to_be_in_set((bucket, bucket_order)",
    ),
    "mart_win_time_distribution": (
        "update marts.mart_win_time_distribution set date = date '2026-04-07' "
        "where date = '2026-04-01'",
        "expect_column_pair_values_a_to_be_greater_than_b(warehouse_as_of_date >= date",
    ),
    "mart_revenue_daily": (
        "update marts.mart_revenue_daily set won_value_usd = -100 where date = '2026-04-01'",
        "expect_column_values_to_be_between(won_value_usd, 0..)",
    ),
    "mart_overview_summary": (  # a headline number that is not what the daily marts sum to
        "update marts.mart_overview_summary set value = value + 1 "
        "where metric = 'cosell_inbound' and time_range = '3M'",
        "expect_column_values_to_be_between(difference_from_daily_marts, -0.005..0.005)",
    ),
}


@pytest.mark.parametrize("mart", list(BREAKS))
def test_one_broken_row_fails_exactly_its_expectation(warehouse, mart):
    statement, expected = BREAKS[mart]
    widget = WIDGETS_BY_MART[mart]
    sql(warehouse, statement)
    (result,) = validate_and_write(warehouse, widgets=[widget]).results
    assert result.error is None
    assert len(result.failed) == 1, result.failed_expectations
    assert result.failed[0].describe().startswith(expected), result.failed_expectations
    assert result.failed[0].level == "error"
    assert result.evaluated > 10 and int(result.statistics["unsuccessful_expectations"]) == 1
    row = widget_refresh(warehouse)[mart]
    assert row["widget"] == widget.name
    assert row["status"] == "failed"
    assert row["expectations_failed"] == 1
    assert row["failed_expectations"] == result.failed[0].describe()
    assert " [error: " in row["failed_expectations"]


def test_a_failed_expectation_lists_its_unexpected_rows_by_key(warehouse):
    """The suites run in GX's BASIC format; a failed row-level expectation is run again to name
    the offending rows by the mart's key columns (stored with the run's results)."""
    widget = WIDGETS_BY_MART["mart_revenue_daily"]
    sql(warehouse, "update marts.mart_revenue_daily set won_value_usd = -100 where date = '2026-04-01'")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        broken = con.execute(
            "select organization_id, date, referral_kind from marts.mart_revenue_daily "
            "where date = '2026-04-01' order by all"
        ).fetchall()
    assert broken  # the fixture has revenue on that day
    (result,) = validate_and_write(warehouse, widgets=[widget]).results
    [failed] = result.failed
    assert failed.unexpected.startswith(f"{len(broken)} of ")
    listed = sorted(
        (row["organization_id"], str(row["date"])[:10], row["referral_kind"])
        for row in failed.sample
    )
    assert listed == [(org, day.isoformat(), kind) for org, day, kind in broken]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(stored,)] = con.execute(
            "select failed_expectations from quality.gx_validation_results "
            "where mart = 'mart_revenue_daily'"
        ).fetchall()
    assert json.loads(stored)[0]["sample"] == failed.sample


def test_a_missing_mart_fails_its_widget_only(warehouse):
    sql(warehouse, "drop table marts.mart_win_time_distribution")
    widgets = [WIDGETS_BY_MART["mart_win_time_distribution"], WIDGETS_BY_MART["mart_revenue_daily"]]
    missing, revenue = validate_and_write(warehouse, widgets=widgets).results
    assert missing.status == "failed" and missing.row_count is None and missing.evaluated == 0
    assert missing.failed_expectations.startswith("validation could not run: batch not readable")
    assert revenue.status == "ok"
    assert widget_refresh(warehouse)["mart_win_time_distribution"]["status"] == "failed"


def test_freshness_threshold_turns_a_stale_feed_into_a_warning(warehouse):
    outlook = WIDGETS_BY_MART["mart_solutions_outlook"]
    (fresh,) = validate_and_write(warehouse, widgets=[outlook], max_staleness=7).results
    assert fresh.status == "ok"
    (stale,) = validate_and_write(warehouse, widgets=[outlook], max_staleness=6).results
    assert stale.status == "warning"
    assert stale.failed_expectations == (
        "expect_column_values_to_be_between(feeding_snapshot_age_days, ..6) [warning: 3 of 3 rows]"
    )


# --- the Dagster asset and checks on a warehouse with quarantined input -------------------------


def test_asset_and_checks_quarantine_unreadable_file_and_a_failed_widget(warehouse, tmp_path):
    from orchestration.defs.quality import (
        CHECK_NAME,
        WIDGET_REFRESH_KEY,
        great_expectations_suites,
        mart_widget_refresh,
    )

    # Landed after the build: one bad traffic record (quarantined) and an unreadable solution
    # file. Neither adds valid records, so the marts are still right for the landed data.
    raw = tmp_path / "raw"
    write_csv(raw / "marketplace_traffic/2026-03-16.csv", ["2026-03-15,org-a,offer-1,-3,0"])
    (raw / "solutions").mkdir(parents=True)
    (raw / "solutions/2026-03-23.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00truncated")
    with duckdb.connect(str(warehouse)) as con:
        loaded = loader.load_files(con, landing.discover(raw).files)
    assert sorted((r.source, r.status, r.records_quarantined) for r in loaded) == [
        ("marketplace_traffic", "loaded", 1),
        ("solutions", "failed", 0),
    ]
    # ... and one widget broken at error level: it fails, the others are still validated.
    sql(warehouse, BREAKS["mart_referral_distribution"][0])

    result = dg.materialize(
        [mart_widget_refresh, great_expectations_suites],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
        selection=dg.AssetSelection.assets(mart_widget_refresh)
        | dg.AssetSelection.all_asset_checks(),
    )
    assert result.success

    rows = widget_refresh(warehouse)
    assert list(next(iter(rows.values()))) == list(WIDGET_REFRESH_COLUMNS)
    assert len(rows) == len(WIDGETS)
    status = {mart: row["status"] for mart, row in rows.items()}
    assert status == {
        "mart_solutions_outlook": "warning",  # unreadable solution file
        "mart_referrals_daily": "ok",
        "mart_cosell_daily": "ok",
        "mart_leads_daily": "warning",  # quarantined traffic record
        "mart_referral_distribution": "failed",
        "mart_qrp_monthly_kpis": "ok",
        "mart_qrp_kpi_history": "ok",
        "mart_acceptance_time_distribution": "ok",
        "mart_win_time_distribution": "ok",
        "mart_revenue_daily": "ok",
        "mart_overview_summary": "warning",  # quarantined traffic record
    }
    quarantined = {mart: row["quarantined_records"] for mart, row in rows.items()}
    assert quarantined == {m: int(m in ("mart_leads_daily", "mart_overview_summary")) for m in rows}
    assert rows["mart_leads_daily"]["failed_expectations"] == ""
    assert rows["mart_solutions_outlook"]["failed_expectations"] == (
        "expect_column_values_to_be_between(feeding_files_failed, 0..0) [warning: 3 of 3 rows]"
    )
    assert rows["mart_referral_distribution"]["failed_expectations"].startswith(
        BREAKS["mart_referral_distribution"][1]
    )
    for row in rows.values():
        assert str(row["data_as_of"]) == "2026-04-06"
        assert row["row_count"] > 0 and row["expectations_evaluated"] > 10
        assert row["expectations_failed"] == (row["failed_expectations"] != "")

    # one check per mart, from the stored statistics
    checks = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == set(WIDGETS_BY_MART)
    assert all(e.check_name == CHECK_NAME for e in checks.values())
    assert not checks["mart_referral_distribution"].passed
    assert checks["mart_referral_distribution"].severity == dg.AssetCheckSeverity.ERROR
    assert not checks["mart_solutions_outlook"].passed
    assert checks["mart_solutions_outlook"].severity == dg.AssetCheckSeverity.WARN
    assert checks["mart_leads_daily"].passed  # quarantine does not fail the suite
    assert checks["mart_revenue_daily"].passed
    meta = checks["mart_referral_distribution"].metadata
    assert meta["unsuccessful_expectations"].value == 1
    assert meta["evaluated_expectations"].value == meta["successful_expectations"].value + 1
    assert 0 < meta["success_percent"].value < 100

    # the asset: metadata and Data Docs under the warehouse directory
    (materialization,) = result.asset_materializations_for_node(mart_widget_refresh.op.name)
    assert materialization.asset_key == WIDGET_REFRESH_KEY
    docs = Path(materialization.metadata["data_docs"].value)
    assert docs == warehouse.parent / "data_docs" / "index.html" and docs.exists()
    assert materialization.metadata["widgets_failed"].value == 1
    stored = read_validation_results(duckdb.connect(str(warehouse), read_only=True))
    page = Path(stored["mart_referral_distribution"].data_docs_page)
    assert page.is_file() and page.is_relative_to(docs.parent)
    # GX's templates put the data context id into their logo URL: an ephemeral context has none.
    assert "dataContextId" not in docs.read_text()


def test_every_mart_of_the_dbt_project_is_validated_and_checked():
    from orchestration.definitions import defs
    from orchestration.defs.quality import BATCH_KEYS, CHECK_NAME, MART_KEYS, WIDGET_REFRESH_KEY

    graph = defs.resolve_asset_graph()
    assert {k.path[-1] for k in MART_KEYS} == set(WIDGETS_BY_MART)
    node = graph.get(WIDGET_REFRESH_KEY)
    assert set(MART_KEYS) <= set(node.parent_keys)
    # ... read through the dbt models of schema quality, one per mart plus the landed data
    assert {k.path[-1] for k in BATCH_KEYS} == {
        "qa_" + m.removeprefix("mart_") for m in WIDGETS_BY_MART
    } | {"qa_landed_files", "qa_landed_data"}
    assert set(BATCH_KEYS) <= set(node.parent_keys)
    assert {graph.get(k).group_name for k in BATCH_KEYS} == {"quality"}
    assert node.group_name == "quality" and node.owners == ["team:referral-insights"]
    checked = {k.asset_key for k in graph.asset_check_keys if k.name == CHECK_NAME}
    assert checked == set(MART_KEYS)


def test_traffic_ahead_of_the_referrals_is_normal_but_a_lead_event_ahead_is_not(warehouse):
    """Sources arrive independently (raw-contract.md section 4): traffic of a day after the
    as-of date (2026-04-06) counts from its own day and never fails the widget; a lead event
    after the as-of date cannot come from the referral snapshots and still does."""
    leads = WIDGETS_BY_MART["mart_leads_daily"]
    sql(warehouse, "insert into marts.mart_leads_daily (organization_id, date, page_views, cta_clicks, "
        "leads_received, leads_accepted, leads_won) values ('org-a', date '2026-04-07', 7, 1, 0, 0, 0)")
    (ahead,) = validate_and_write(warehouse, widgets=[leads]).results
    assert ahead.status == "ok", ahead.failed_expectations
    sql(warehouse, "update marts.mart_leads_daily set leads_received = 1 where date = date '2026-04-07'")
    (event,) = validate_and_write(warehouse, widgets=[leads]).results
    assert event.status == "failed"
    assert "warehouse_as_of_date" in event.failed_expectations
