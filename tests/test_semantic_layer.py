"""The semantic layer (dbt_project/models/semantic/) against the dashboard.

A hand-built published warehouse: the daily marts of two organizations over 14 months with
seeded pseudo-random counts (zero days, a day where leads accepted are 0, won > accepted), the
as-of date 2026-05-31, and `mart_overview_summary`, `dim_organizations` and the time spine built by
dbt from them. For every headline number and each standard range (and one custom range), the
dashboard's value must equal MetricFlow's answer for the same organization and days — MetricFlow
generating its SQL from the metric definitions, run on the published serving database. Then the
documented `mf query` (profile target `serving`) answers "QRP win rate by country per quarter"
with numbers worked out by hand below.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dashboard import queries
from dashboard.view import build_dashboard
from dashboard.widget_catalog import WIDGETS
from orchestration import settings
from orchestration.semantic import metrics as semantic
from orchestration.serving import publisher
from tests.conftest import run_dbt

ORGS = {"org-a": "Contoso", "org-b": None}  # org-b has no name: its id is its display name
AS_OF = dt.date(2026, 5, 31)
FIRST = dt.date(2025, 4, 1)
HEADLINE = {spec.mart: [m.metric for m in spec.headline] for spec in WIDGETS if spec.headline}

# --- unit: the metric definitions and the SQL generated from them ------------------------------


def test_every_dashboard_number_is_a_metric():
    defined = semantic.load()
    shown = [m for names in HEADLINE.values() for m in names]
    assert len(shown) == 17 and set(shown) <= set(defined)
    # the summary mart's metric list is the same 17 names
    summary_sql = (
        settings.DBT_PROJECT_DIR / "models/marts/referrals_overview/mart_overview_summary.sql"
    ).read_text()
    assert all(f"'{m}'" in summary_sql for m in shown)
    for name in ("acceptance_time_referrals", "win_time_referrals", "solutions_live",
                 "referrals_current", "qrp_win_rate_pct"):  # fmt: skip
        assert name in defined
    rate = defined["cosell_win_rate_pct"]
    assert rate.type == "derived" and set(rate.inputs) == {
        "cosell_won", "cosell_accepted", "cosell_outbound",
    }  # fmt: skip


def test_generated_range_sql_is_a_ratio_of_sums():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.mart_leads_daily as select * from (values "
        # day rates 1/1 = 100 % and 0/799 = 0 %; over both days 1 / 800 = 0.125 % -> 0.13
        "('o', date '2026-01-01', 5, 1, 2, 1, 1), ('o', date '2026-01-02', 0, 0, 0, 799, 0), "
        "('p', date '2026-01-01', 9, 9, 9, 9, 9)) "
        "t(organization_id, date, page_views, cta_clicks, leads_received, leads_accepted, leads_won)"
    )
    sql = queries.CUSTOM_RANGE_TOTALS["mart_leads_daily"]
    window = {"organization": "o", "start": dt.date(2026, 1, 1), "end": dt.date(2026, 1, 31)}
    cursor = con.execute(sql, window)
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    assert row["leads_accepted"] == 800 and row["leads_won"] == 1
    assert row["leads_win_rate_pct"] == 0.13
    # nothing in range: counts 0, the rate NULL
    cursor = con.execute(sql, window | {"start": dt.date(2027, 1, 1), "end": dt.date(2027, 1, 2)})
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    assert row["leads_won"] == 0 and row["leads_win_rate_pct"] is None


# --- end to end: a published warehouse, dbt, MetricFlow ---------------------------------------


def _days():
    d = FIRST
    while d <= AS_OF:
        yield d
        d += dt.timedelta(days=1)


def _daily_rows(rng: random.Random) -> dict[str, list[tuple]]:
    rows = {"referrals": [], "cosell": [], "leads": [], "revenue": []}
    for org in ORGS:
        for day in _days():
            if rng.random() < 0.3:  # sparse marts: many days have no row
                continue
            n = lambda hi: rng.randint(0, hi)  # noqa: E731
            for category in ("cosell_inbound", "qualified_lead"):
                rows["referrals"].append((org, day, category, n(4), n(3), n(2)))
            rows["cosell"].append((org, day, n(3), n(2), n(2), n(1), n(2)))
            # leads accepted is 0 on some days, won can exceed accepted on short ranges
            rows["leads"].append((org, day, n(500), n(40), n(3), n(1), n(1)))
            for kind in ("co-sell", "lead"):
                rows["revenue"].append(
                    (org, day, kind, n(2), round(rng.uniform(0, 5000), 2), float(n(3) * 250))
                )
    return rows


QRP = [
    # org, program, country, month, received, accepted, declined, expired, won, lost
    ("org-a", "Contact request", "NL", "2026-01-01", 10, 8, 1, 1, 2, 1),
    ("org-a", "Contact request", "NL", "2026-02-01", 6, 5, 0, 1, 1, 2),
    ("org-a", "Digital Sales Opportunity", "NL", "2026-03-01", 4, 4, 0, 0, 1, 0),
    ("org-a", "Contact request", "US", "2026-02-01", 5, 5, 1, 0, 0, 3),
    ("org-a", "Contact request", "US", "2026-04-01", 3, 2, 0, 0, 1, 1),
    # the mart's rollup rows, which the QRP metrics must not count again
    ("org-a", "Contact request", "ALL", "2026-01-01", 10, 8, 1, 1, 2, 1),
    ("org-a", "Contact request", "ALL", "2026-02-01", 11, 10, 1, 1, 1, 5),
    ("org-a", "Digital Sales Opportunity", "ALL", "2026-03-01", 4, 4, 0, 0, 1, 0),
    ("org-a", "Contact request", "ALL", "2026-04-01", 3, 2, 0, 0, 1, 1),
]


def _build_marts(warehouse: Path) -> None:
    rows = _daily_rows(random.Random(16))
    con = duckdb.connect(str(warehouse))
    for schema in ("marts", "intermediate"):
        con.execute(f"create schema {schema}")
    con.execute("create table intermediate.int_warehouse_as_of as select ?::date as as_of_date", [AS_OF])
    con.execute("create table intermediate.int_organizations (organization_id varchar, organization_name varchar)")
    con.executemany("insert into intermediate.int_organizations values (?, ?)", list(ORGS.items()))
    tables = {
        "mart_referrals_daily": ("referrals", "organization_id varchar, date date, referral_category varchar, "
                                 "referrals_created bigint, referrals_accepted bigint, referrals_won bigint"),
        "mart_cosell_daily": ("cosell", "organization_id varchar, date date, inbound bigint, outbound bigint, "
                              "accepted bigint, accepted_by_microsoft bigint, won bigint"),
        "mart_leads_daily": ("leads", "organization_id varchar, date date, page_views bigint, cta_clicks bigint, "
                             "leads_received bigint, leads_accepted bigint, leads_won bigint"),
        "mart_revenue_daily": ("revenue", "organization_id varchar, date date, referral_kind varchar, "
                               "won_count bigint, won_value_usd double, ip_cosell_approved_value_usd double"),
    }  # fmt: skip
    for mart, (key, columns) in tables.items():
        con.execute(f"create table marts.{mart} ({columns})")
        con.executemany(
            f"insert into marts.{mart} values ({', '.join('?' * len(rows[key][0]))})", rows[key]
        )
    con.execute(
        "create table marts.mart_qrp_monthly_kpis (organization_id varchar, program varchar, "
        "country varchar, month date, referrals_received bigint, referrals_accepted bigint, "
        "referrals_declined bigint, referrals_expired bigint, referrals_won bigint, "
        "referrals_lost bigint, closed_within_60d bigint, closed_within_180d bigint)"
    )
    con.executemany(
        "insert into marts.mart_qrp_monthly_kpis values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)", QRP
    )
    con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("semantic")
    warehouse = folder / "wh.duckdb"
    _build_marts(warehouse)
    target = folder / "target"
    built = run_dbt(
        ["run", "--select", "int_overview_time_ranges", "mart_overview_summary",
         "dim_organizations", "metricflow_time_spine"],
        warehouse, target,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    with duckdb.connect(str(warehouse)) as con:
        marts = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()]  # fmt: skip
        publisher.publish(con, warehouse, marts, failed=set())
    # the documented way: parse with the `serving` target, so that the relations MetricFlow
    # queries are the published serving database's
    serving_target = folder / "serving_target"
    parsed = run_dbt(["parse", "--target", "serving"], warehouse, serving_target)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return {
        "warehouse": warehouse,
        "serving_db": publisher.serving_db_path(warehouse),
        "semantic_manifest": serving_target / "semantic_manifest.json",
    }


class _DuckDbSqlClient:
    """MetricFlow's SqlClient protocol over a read-only DuckDB connection (the `mf` CLI uses
    dbt's adapter for the same; MetricFlow renders the SQL for DuckDB either way)."""

    def __init__(self, path: Path):
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self.con = duckdb.connect(str(path), read_only=True)
        self.sql_engine_type = SqlEngine.DUCKDB
        self.sql_plan_renderer = DuckDbSqlPlanRenderer()

    def query(self, stmt, sql_bind_parameter_set=None):
        from metricflow.data_table.mf_table import MetricFlowDataTable

        params = dict(sql_bind_parameter_set.param_dict) if sql_bind_parameter_set else {}
        assert not params
        cursor = self.con.execute(stmt)
        return MetricFlowDataTable.create_from_rows(
            column_names=[d[0] for d in cursor.description], rows=cursor.fetchall()
        )

    def execute(self, stmt, sql_bind_parameter_set=None):
        self.con.execute(stmt)

    def dry_run(self, stmt, sql_bind_parameter_set=None):
        self.con.execute(f"explain {stmt}")

    def close(self):
        self.con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


@pytest.fixture(scope="module")
def metricflow(published):
    from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest = parse_manifest_from_dbt_generated_manifest(
        published["semantic_manifest"].read_text()
    )
    client = _DuckDbSqlClient(published["serving_db"])
    engine = MetricFlowEngine(SemanticManifestLookup(manifest), client)

    def query(metrics: list[str], org: str, start: dt.date, end: dt.date) -> dict:
        result = engine.query(
            MetricFlowQueryRequest.create(
                metric_names=metrics,
                where_constraints=[
                    f"{{{{ Entity('organization') }}}} = '{org}'",
                    f"{{{{ TimeDimension('metric_time', 'day') }}}} between '{start}' and '{end}'",
                ],
            )
        )
        table = result.result_df
        assert table.row_count == 1, table
        return dict(zip(table.column_names, next(iter(table.rows)), strict=True))

    yield query
    client.close()


def _dashboard_numbers(serving_db: Path, params: dict) -> tuple[dict, dt.date, dt.date]:
    d = build_dashboard(serving_db, params)
    numbers = {m.key: m.value for w in d.widgets for m in w.metrics if w.spec.headline}
    return numbers, d.start, d.end


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6


@pytest.mark.e2e
@pytest.mark.parametrize("org", list(ORGS))
def test_dashboard_headline_numbers_equal_metricflow(published, metricflow, org):
    windows = {"1M": (dt.date(2026, 5, 1), AS_OF), "3M": (dt.date(2026, 3, 1), AS_OF),
               "6M": (dt.date(2025, 12, 1), AS_OF), "12M": (dt.date(2025, 6, 1), AS_OF)}  # fmt: skip
    views = [({"org": org, "range": r}, window) for r, window in windows.items()]
    views.append(({"org": org, "range": "custom", "start": "2025-08-15", "end": "2026-02-10"},
                  (dt.date(2025, 8, 15), dt.date(2026, 2, 10))))  # fmt: skip
    compared = 0
    for params, (start, end) in views:
        shown, shown_start, shown_end = _dashboard_numbers(published["serving_db"], params)
        assert (shown_start, shown_end) == (start, end), params  # marts.md's windows
        for metrics in HEADLINE.values():
            answer = metricflow(metrics, org, start, end)
            wrong = {m: (shown[m], answer[m]) for m in metrics if not _same(shown[m], answer[m])}
            assert not wrong, f"{params}: dashboard vs MetricFlow {wrong}"
            compared += len(metrics)
    assert compared == 5 * 17
    # the data is not degenerate: some rate is defined and some range differs from another
    assert any(v not in (0, None) for v in shown.values())


@pytest.mark.e2e
def test_mf_cli_on_the_serving_database_answers_win_rate_by_country_per_quarter(
    published, tmp_path
):
    """`mf query` as docs/serving.md shows it: profile target `serving`, after `dbt parse`."""
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(settings.DBT_PROJECT_DIR / name, project / name)
    shutil.copy(published["semantic_manifest"], project / "target" / "semantic_manifest.json")
    out = tmp_path / "win_rate.csv"
    env = os.environ | {
        settings.WAREHOUSE_ENV: str(published["warehouse"]),
        settings.DBT_TARGET_ENV: "serving",
        "DBT_PROFILES_DIR": str(project),
        "DBT_PROJECT_DIR": str(project),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mf"), "query", "--metrics", "qrp_win_rate_pct",
         "--group-by", "metric_time__quarter,qrp_cohort__country", "--where",
         "{{ Entity('organization') }} = 'org-a'", "--csv", str(out)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open() as f:
        got = {(r["metric_time__quarter"][:10], r["qrp_cohort__country"]): r["qrp_win_rate_pct"]
               for r in csv.DictReader(f)}  # fmt: skip
    # win rate = won / (declined + expired + won + lost), per quarter and country, ALL rows out:
    # Q1 NL: Jan 2/(1+1+2+1) + Feb 1/(0+1+1+2) + Mar 1/(0+0+1+0) -> 4 / (5 + 4 + 1) = 40 %
    # Q1 US: Feb 0/(1+0+0+3) -> 0 %;  Q2 US: Apr 1/(0+0+1+1) -> 50 %
    assert {k: float(v) for k, v in got.items()} == {
        ("2026-01-01", "NL"): 40.0,
        ("2026-01-01", "US"): 0.0,
        ("2026-04-01", "US"): 50.0,
    }
