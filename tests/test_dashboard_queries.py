"""The dashboard's query layer and pages without a browser, on a tiny published set built here by
hand (as-of 2026-03-31, so 3M = 2026-01-01..2026-03-31); every expected number is worked out in
the comments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import duckdb
import jsonschema
import pytest
from pypdf import PdfReader

from dashboard import queries
from dashboard.app import create_app
from dashboard.charts import VEGA_LITE_VERSION
from dashboard.pdf import render_pdf
from dashboard.time_range import parse_range
from dashboard.view import build_dashboard, standard_window
from orchestration.serving import publisher
from tests.conftest import asgi_get_bytes

D = dt.date
ORG, OTHER = "org-a", "org-b"
AS_OF = "2026-03-31"

MARTS = {
    "mart_overview_summary": (
        "organization_id varchar, as_of_date date, time_range varchar, range_start date, "
        "range_end date, metric varchar, value double",
        # 3M of org-a. referrals_total is deliberately not the daily sum (7): a standard range
        # must show the summary's value, not re-sum the daily marts.
        [
            (ORG, AS_OF, "3M", "2026-01-01", AS_OF, "referrals_total", 777),
            (ORG, AS_OF, "3M", "2026-01-01", AS_OF, "cosell_won", 2),
            (ORG, AS_OF, "3M", "2026-01-01", AS_OF, "cosell_win_rate_pct", 50.0),
            (OTHER, AS_OF, "3M", "2026-01-01", AS_OF, "referrals_total", 0),
        ],
    ),
    "mart_referrals_daily": (
        "organization_id varchar, date date, referral_category varchar, referrals_created bigint, "
        "referrals_accepted bigint, referrals_won bigint",
        [
            (ORG, "2026-01-20", "cosell_inbound", 3, 2, 1),
            (ORG, "2026-01-20", "qualified_lead", 2, 1, 0),
            (ORG, "2026-03-05", "cosell_inbound", 2, 2, 0),
        ],
    ),
    "mart_cosell_daily": (
        "organization_id varchar, date date, inbound bigint, outbound bigint, accepted bigint, "
        "accepted_by_microsoft bigint, won bigint",
        [
            # day rates 2/3 = 66.67 % and 0/1 = 0 %: their average (33.33) is not the rate
            (ORG, "2026-01-20", 2, 0, 3, 0, 2),
            (ORG, "2026-03-05", 1, 0, 1, 1, 0),
            (ORG, "2025-12-15", 0, 0, 1, 0, 5),  # before every range used below
            (OTHER, "2026-01-20", 9, 9, 9, 9, 9),  # another organization
        ],
    ),
    "mart_leads_daily": (
        "organization_id varchar, date date, page_views bigint, cta_clicks bigint, "
        "leads_received bigint, leads_accepted bigint, leads_won bigint",
        # 1 / 800 = 0.125 %: a tie, rounded half away from zero to 0.13
        [(ORG, "2026-02-10", 100, 5, 1, 800, 1)],
    ),
    "mart_revenue_daily": (
        "organization_id varchar, date date, referral_kind varchar, won_count bigint, "
        "won_value_usd double, ip_cosell_approved_value_usd double",
        [
            (ORG, "2026-01-20", "lead", 1, 100.5, 0.0),
            (ORG, "2026-01-20", "co-sell", 1, 200.25, 0.0),
            (ORG, "2026-03-05", "co-sell", 0, 0.0, 1000.0),
        ],
    ),
    "mart_solutions_outlook": (
        "organization_id varchar, as_of_date date, co_sell_status varchar, solution_count bigint",
        [
            (ORG, AS_OF, "In market", 4),
            (ORG, AS_OF, "Co-sell ready", 2),
            (ORG, AS_OF, "Azure IP co-sell incentive", 1),
            (OTHER, AS_OF, "In market", 0),
        ],
    ),
    "mart_referral_distribution": (
        "organization_id varchar, as_of_date date, referral_category varchar, status varchar, "
        "substatus varchar, referral_count bigint",
        [
            (ORG, AS_OF, "cosell_inbound", "Active", "Accepted", 3),
            (ORG, AS_OF, "qualified_lead", "Closed", "Won", 2),
        ],
    ),
    "mart_qrp_monthly_kpis": (
        "organization_id varchar, program varchar, country varchar, month date, "
        "referrals_received bigint, accept_rate_pct double, expiry_rate_pct double, "
        "close_rate_60d_pct double, close_rate_180d_pct double, win_rate_pct double, "
        "accept_rate_status varchar, expiry_rate_status varchar, close_rate_60d_status varchar, "
        "close_rate_180d_status varchar, win_rate_status varchar, goals_met bigint",
        [
            (
                ORG,
                "Contact request",
                "ALL",
                "2026-03-01",
                10,
                80.0,
                10.0,
                None,
                95.0,
                5.0,
                "Goal met",
                "Below goal",
                None,
                "Goal met",
                "Approaching goal",
                2,
            ),
            (
                ORG,
                "Contact request",
                "NL",
                "2026-03-01",
                4,
                75.0,
                0.0,
                None,
                100.0,
                0.0,
                "Approaching goal",
                "Goal met",
                None,
                "Goal met",
                "Below goal",
                2,
            ),
        ],
    ),  # fmt: skip
    "mart_acceptance_time_distribution": (
        "organization_id varchar, date date, referral_kind varchar, bucket varchar, "
        "bucket_order integer, referral_count bigint",
        [
            (ORG, "2026-02-01", "co-sell", "< 1 day", 1, 2),
            (ORG, "2026-02-02", "co-sell", "< 1 day", 1, 1),
            (ORG, "2025-11-01", "lead", "14+ days", 5, 5),  # before 3M
        ],
    ),
    "mart_win_time_distribution": (
        "organization_id varchar, date date, referral_kind varchar, bucket varchar, "
        "bucket_order integer, referral_count bigint",
        [(ORG, "2026-01-20", "lead", "30-60 days", 2, 1)],
    ),
}


WIDGET_REFRESH = (
    "widget varchar, mart varchar, refreshed_at timestamp, data_as_of date, row_count bigint, "
    "expectations_evaluated integer, expectations_failed integer, quarantined_records bigint, "
    "status varchar, failed_expectations varchar"
)


def _widget_refresh_rows(status: dict[str, str]) -> list[tuple]:
    return [
        (mart, mart, "2026-04-01 06:00:00", AS_OF, 1, 10, 1 if s != "ok" else 0, 0, s,
         "" if s == "ok" else f"expect_something({mart}) [error: 1 of 1 rows]")
        for mart, s in status.items()
    ]  # fmt: skip


def _build(folder: Path, overrides: dict | None = None) -> tuple[Path, duckdb.DuckDBPyConnection]:
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists marts")
    for mart, (columns, rows) in (MARTS | (overrides or {})).items():
        con.execute(f"create or replace table marts.{mart} ({columns})")
        if rows:
            con.executemany(
                f"insert into marts.{mart} values ({', '.join('?' * len(rows[0]))})", rows
            )
    return warehouse, con


@pytest.fixture(scope="module")
def serving(tmp_path_factory) -> Path:
    """Published once, without mart_widget_refresh (a set from before validation existed)."""
    warehouse, con = _build(tmp_path_factory.mktemp("dash_q"))
    publisher.publish(con, warehouse, list(MARTS), failed=set())
    con.close()
    return publisher.serving_db_path(warehouse)


def _widget(dashboard, key):
    return next(w for w in dashboard.widgets if w.key == key)


def _metrics(dashboard, key) -> dict:
    return {m.key: m.value for m in _widget(dashboard, key).metrics}


def _cells(dashboard, key) -> dict:
    return {
        c.key: c.value for t in _widget(dashboard, key).tables for r in t.rows for c in r if c.key
    }


# --- the query layer ----------------------------------------------------------------------------


def test_custom_range_rates_are_ratios_of_sums(serving):
    with queries.connect(serving) as con:
        cosell = queries.custom_range_totals(
            con, "mart_cosell_daily", ORG, D(2026, 1, 1), D(2026, 3, 31)
        )
        leads = queries.custom_range_totals(
            con, "mart_leads_daily", ORG, D(2026, 1, 1), D(2026, 3, 31)
        )
        one_day = queries.custom_range_totals(
            con, "mart_cosell_daily", ORG, D(2026, 3, 5), D(2026, 3, 5)
        )
        empty = queries.custom_range_totals(
            con, "mart_cosell_daily", ORG, D(2024, 1, 1), D(2024, 1, 31)
        )
    # won 2 + 0 = 2, accepted 3 + 1 = 4, outbound 0: 100 * 2 / 4 = 50 (not the mean 33.33)
    assert cosell == {
        "cosell_inbound": 3.0, "cosell_outbound": 0.0, "cosell_accepted": 4.0,
        "cosell_accepted_by_microsoft": 1.0, "cosell_won": 2.0, "cosell_win_rate_pct": 50.0,
    }  # fmt: skip
    assert leads["leads_win_rate_pct"] == 0.13  # 0.125 rounded half away from zero
    assert one_day["cosell_win_rate_pct"] == 0.0  # 0 won of 1 accepted
    assert empty["cosell_won"] == 0.0 and empty["cosell_win_rate_pct"] is None  # 0 / 0


def test_monthly_trend_is_zero_filled_and_cut_to_the_range(serving):
    with queries.connect(serving) as con:
        points = queries.monthly(con, "mart_cosell_daily", ORG, D(2026, 1, 21), D(2026, 3, 10))
    # Jan 21.. excludes Jan 20's 2 wins; February has no row at all; March 5 is in
    assert [(p["month"], p["cosell_won"], p["cosell_accepted"]) for p in points] == [
        (D(2026, 1, 1), 0.0, 0.0),
        (D(2026, 2, 1), 0.0, 0.0),
        (D(2026, 3, 1), 0.0, 1.0),
    ]


def test_standard_window_clamps_to_month_end():
    assert standard_window(D(2026, 5, 31), 3) == (D(2026, 3, 1), D(2026, 5, 31))  # Feb 28 + 1 day
    assert standard_window(D(2026, 3, 31), 1) == (D(2026, 3, 1), D(2026, 3, 31))
    assert standard_window(D(2026, 1, 15), 12) == (D(2025, 1, 16), D(2026, 1, 15))


def test_range_selection_is_validated():
    assert parse_range({})[0].key == "3M"
    choice, problem = parse_range({"range": "custom", "start": "2026-02-01", "end": "2026-01-01"})
    assert choice.key == "3M" and "after it ends" in problem
    choice, problem = parse_range({"range": "custom", "start": "x", "end": "2026-01-01"})
    assert choice.key == "3M" and "YYYY-MM-DD" in problem
    assert parse_range({"range": "'; drop table x; --"})[0].key == "3M"
    assert parse_range({"range": "custom", "start": "2026-01-01", "end": "2026-01-01"})[1] is None


# --- one view's content ---------------------------------------------------------------------------


def test_standard_range_reads_the_summary_and_its_window(serving):
    d = build_dashboard(serving, {})
    assert (d.organization, d.choice.key, d.start, d.end) == (
        ORG,
        "3M",
        D(2026, 1, 1),
        D(2026, 3, 31),
    )
    assert _metrics(d, "referrals")["referrals_total"] == 777  # the summary, not the daily sum 7
    assert _metrics(d, "cosell")["cosell_win_rate_pct"] == 50.0
    assert _metrics(d, "cosell")["cosell_inbound"] is None  # not in this hand-built summary
    # widgets without summary metrics sum the daily marts over the summary's window
    assert _metrics(d, "revenue")["revenue_won_usd:lead"] == 100.5
    assert _cells(d, "acceptance_time")["acceptance_time:co-sell:< 1 day"] == 3
    assert _cells(d, "acceptance_time")["acceptance_time:lead:14+ days"] == 0  # Nov 2025 is out


def test_custom_range_sums_the_daily_marts(serving):
    d = build_dashboard(serving, {"range": "custom", "start": "2026-01-20", "end": "2026-02-28"})
    assert d.range_label == "Custom range: 2026-01-20 to 2026-02-28"
    assert _metrics(d, "referrals") == {
        "referrals_total": 5.0, "referrals_accepted": 3.0, "referrals_won": 1.0,
    }  # fmt: skip
    assert _metrics(d, "cosell")["cosell_win_rate_pct"] == 66.67  # 2 / 3
    assert _metrics(d, "revenue") == {
        "revenue_won_usd": 300.75, "revenue_won_usd:co-sell": 200.25,
        "revenue_won_usd:lead": 100.5, "revenue_ip_cosell_approved_usd": 0.0,
    }  # fmt: skip
    assert _cells(d, "win_time")["win_time:lead:30-60 days"] == 1
    assert _cells(d, "acceptance_time")["acceptance_time:co-sell"] == 3  # Feb 1 + Feb 2
    # current-state widgets do not move, and say so
    outlook = _widget(d, "solutions_outlook")
    assert "not affected by the time range" in outlook.scope
    assert _metrics(d, "solutions_outlook")["solutions:In market"] == 4


def test_qrp_country_and_goal_status_colouring(serving):
    d = build_dashboard(serving, {"country": "NL"})
    assert d.countries == ["ALL", "NL"] and d.country == "NL"
    cells = {c.key: c for t in _widget(d, "qrp").tables for r in t.rows for c in r if c.key}
    prefix = "qrp:Contact request:2026-03-01"
    assert cells[f"{prefix}:referrals_received"].value == 4
    assert (cells[f"{prefix}:accept_rate_pct"].text, cells[f"{prefix}:accept_rate_pct"].css) == (
        "75.00%", "goal-approaching",
    )  # fmt: skip
    assert cells[f"{prefix}:win_rate_pct"].css == "goal-below"
    assert (cells[f"{prefix}:close_rate_60d_pct"].text, cells[f"{prefix}:close_rate_60d_pct"].css) == (
        "n/a", "goal-none",
    )  # fmt: skip
    unknown = build_dashboard(serving, {"country": "XX"})
    assert unknown.country == "ALL" and unknown.notices


def test_missing_widget_refresh_is_reported_not_fatal(serving):
    d = build_dashboard(serving, {})
    for w in d.widgets:
        assert w.refresh_note.startswith("Refresh details unavailable")
        assert w.status == "unknown" and not w.warnings and w.has_data


def test_failed_validation_warns_and_keeps_last_good_data(tmp_path):
    statuses = {m: "ok" for m in MARTS} | {
        "mart_leads_daily": "warning",
        "mart_win_time_distribution": "failed",
    }
    warehouse, con = _build(
        tmp_path, {"mart_widget_refresh": (WIDGET_REFRESH, _widget_refresh_rows(statuses))}
    )
    marts = [*MARTS, "mart_widget_refresh"]
    # first publish: win time fails and was never published before
    publisher.publish(con, warehouse, marts, failed={"mart_win_time_distribution"}, version="v1")
    # second: co-sell changes and fails too, so its v1 data stays
    con.execute("update marts.mart_cosell_daily set won = 99")
    statuses["mart_cosell_daily"] = "failed"
    con.execute("delete from marts.mart_widget_refresh")
    con.executemany(
        f"insert into marts.mart_widget_refresh values ({', '.join('?' * 10)})",
        _widget_refresh_rows(statuses),
    )
    failed = {"mart_cosell_daily", "mart_win_time_distribution"}
    publisher.publish(con, warehouse, marts, failed=failed, version="v2")
    con.close()

    d = build_dashboard(
        publisher.serving_db_path(warehouse),
        {"range": "custom", "start": "2026-01-01", "end": "2026-03-31"},
    )
    cosell = _widget(d, "cosell")
    assert cosell.stale and cosell.has_data and cosell.status == "failed"
    assert "Showing its last good data" in cosell.warnings[0]
    assert "expect_something(mart_cosell_daily)" in cosell.warnings[0]
    assert _metrics(d, "cosell")["cosell_won"] == 2.0  # v1's data, not the failed 99s
    win_time = _widget(d, "win_time")
    assert not win_time.has_data and not win_time.tables and not win_time.metrics
    assert "no earlier good version" in win_time.warnings[0]
    leads = _widget(d, "leads")
    assert leads.status == "warning" and not leads.warnings  # a warning is a badge, not a block
    assert [r.publish_state for r in cosell.refresh] == ["kept previous"]
    assert cosell.refresh[0].refreshed_at == "2026-04-01 06:00 UTC"
    assert _widget(d, "referrals").status == "ok" and _widget(d, "referrals").refresh_note is None
    # the PDF carries the same warnings
    pdf = tmp_path / "failed.pdf"
    pdf.write_bytes(render_pdf(d))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "Showing its last good data" in text and "no earlier good version" in text


def test_chart_specs_are_valid_vega_lite(serving):
    d = build_dashboard(serving, {"range": "custom", "start": "2025-11-01", "end": "2026-03-31"})
    # the page's vega-embed bundle and the PDF renderer use the Vega-Lite line Altair writes
    assert alt.SCHEMA_VERSION.startswith(f"v{VEGA_LITE_VERSION}.")
    validator = jsonschema.Draft7Validator(alt.vegalite.v6.schema.core.load_schema())
    specs = [c.spec for w in d.widgets for c in w.charts]
    assert len(specs) == 9  # leads draws two, QRP is a table
    for spec in specs:
        validator.validate(spec)


# --- the HTTP layer (ASGI calls, no server) ------------------------------------------------------


def _get(app, path: str, query: str = "") -> tuple[int, dict, bytes]:
    return asgi_get_bytes(app, path, query)


def test_page_pdf_and_errors_over_http(serving, tmp_path):
    app = create_app(serving.parent / "wh.duckdb")
    status, headers, body = _get(app, "/", "range=custom&start=2026-01-20&end=2026-02-28")
    html = body.decode()
    assert status == 200 and "script-src 'self'" in headers["content-security-policy"]
    assert 'data-metric="cosell_win_rate_pct">66.67%</span>' in html
    assert (
        'href="/report.pdf?org=org-a&amp;range=custom&amp;country=ALL&amp;start=2026-01-20&amp;end=2026-02-28"'
        in html
    )

    status, headers, body = _get(app, "/report.pdf", "range=custom&start=2026-01-20&end=2026-02-28")
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert (
        'filename="referrals-overview-org-a-custom-2026-01-20-2026-02-28.pdf"'
        in headers["content-disposition"]
    )
    (tmp_path / "view.pdf").write_bytes(body)
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "view.pdf").pages)
    for shown in (
        "66.67%",
        "$300.75",
        "$200.25",
        "$100.50",
        "Custom range: 2026-01-20 to 2026-02-28",
    ):
        assert shown in text

    status, _, body = _get(app, "/", "org=org-z%27%3B+select+1")
    assert status == 404 and b"Unknown organization" in body
    status, _, body = _get(create_app(tmp_path / "nothing" / "wh.duckdb"), "/")
    assert status == 503 and b"referral-insights refresh" in body
