"""The dashboard's content for one selection (organization, time range, QRP country): every
number, table, chart and warning that the page and the PDF show, read in one connection to the
published serving database so both show the same version."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dashboard import charts, formatting, queries
from dashboard import widget_catalog as catalog
from dashboard.time_range import RangeChoice, parse_range
from dashboard.widget_catalog import SUMMARY, WidgetSpec

QRP_ALL_COUNTRIES = "ALL"
# Trend points are calendar months; the range rarely starts on the 1st.
CUT_MONTHS = " (calendar months, the first and last cut to the range)"


class DashboardUnavailable(Exception):
    """Nothing usable is published yet (the page says what to do instead)."""


class UnknownOrganization(LookupError):
    pass


@dataclass
class Cell:
    text: str
    key: str | None = None
    """`data-metric` of the value on the page (the browser tests find numbers by it)."""
    value: float | None = None
    css: str | None = None
    title: str | None = None


@dataclass
class Table:
    caption: str | None
    header: list[str]
    rows: list[list[Cell]]
    legend: bool = False  # show the goal-status colour legend under it


@dataclass
class Metric:
    key: str
    label: str
    value: float | None
    text: str


@dataclass
class Chart:
    title: str
    spec: dict


@dataclass
class RefreshRow:
    """One mart read by a widget: its data-refresh details and its published state."""

    mart: str
    status: str | None
    refreshed_at: str
    data_as_of: str
    expectations: str
    quarantined_records: str
    failed_expectations: str
    publish_state: str
    data_refreshed_at: str


@dataclass
class WidgetView:
    spec: WidgetSpec
    scope: str
    """Which dates the numbers cover, and whether the time range applies."""
    metrics: list[Metric] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    has_data: bool = True
    stale: bool = False
    """Its data failed validation: shown (last good data) under a visible warning."""
    empty_note: str | None = None
    refresh: list[RefreshRow] = field(default_factory=list)
    refresh_note: str | None = None
    status: str = "unknown"  # ok | warning | failed | unknown

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass
class Dashboard:
    serving_db: Path
    organization: str
    organizations: list[str]
    choice: RangeChoice
    start: dt.date
    end: dt.date
    as_of: dt.date | None
    country: str
    countries: list[str]
    widgets: list[WidgetView]
    notices: list[str]
    published_version: str | None
    published_at: dt.datetime | None
    names: dict[str, str] = field(default_factory=dict)
    """organization_id -> current name (dim_organizations); the id when it has none."""

    def name(self, organization: str | None = None) -> str:
        organization = organization or self.organization
        return self.names.get(organization) or organization

    @property
    def range_label(self) -> str:
        return f"{self.choice.label()}: {self.start} to {self.end}"

    def query(self) -> dict[str, str]:
        """The query parameters of this view (the PDF link repeats them)."""
        params = {"org": self.organization, "range": self.choice.key, "country": self.country}
        if self.choice.is_custom:
            params |= {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return params


@dataclass
class _Reader:
    """What every widget builder needs: the open connection and the resolved selection."""

    con: duckdb.DuckDBPyConnection
    organization: str
    tables: set[str]
    states: dict[str, queries.PublishState]
    refresh: dict[str, queries.WidgetRefresh] | None
    refresh_problem: str | None
    choice: RangeChoice
    start: dt.date
    end: dt.date
    as_of: dt.date | None
    summary: queries.StandardRange | None
    country: str

    def uses_summary(self, spec: WidgetSpec) -> bool:
        return bool(spec.headline) and self.summary is not None

    def window(self) -> dict:
        return {"organization": self.organization, "start": self.start, "end": self.end}


def build_dashboard(
    serving_db: Path, params: Mapping[str, str], default_organization: str | None = None
) -> Dashboard:
    if not serving_db.exists():
        raise DashboardUnavailable(
            f"No published marts at {serving_db}. Run `referral-insights refresh` for this "
            "warehouse first; the page reads only what a refresh publishes."
        )
    try:
        with queries.connect(serving_db) as con:
            return _build(con, serving_db, params, default_organization)
    except duckdb.Error as exc:  # not a DuckDB file, truncated, written by a newer DuckDB...
        raise DashboardUnavailable(
            f"The published serving database {serving_db} cannot be read "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). Run `referral-insights "
            "refresh` for this warehouse to publish it again."
        ) from exc


def _build(
    con: duckdb.DuckDBPyConnection,
    serving_db: Path,
    params: Mapping[str, str],
    default_organization: str | None,
) -> Dashboard:
    notices: list[str] = []
    tables = queries.published_tables(con)
    try:
        states = queries.publish_states(con)
    except duckdb.Error:
        states = {}
    refresh, refresh_problem = None, None
    if "mart_widget_refresh" not in tables:
        refresh_problem = "this published set has no mart_widget_refresh yet"
    else:
        try:
            refresh = queries.widget_refresh(con)
        except duckdb.Error as exc:  # a published set from an older or newer layout
            refresh_problem = f"mart_widget_refresh could not be read ({type(exc).__name__})"

    organizations = queries.organizations(con, tables)
    names = queries.organization_names(con, tables)
    if not organizations:
        raise DashboardUnavailable(f"The published marts at {serving_db} hold no organization.")
    organization = params.get("org") or default_organization or organizations[0]
    if organization not in organizations:
        raise UnknownOrganization(organization)
    as_of = queries.as_of_date(con, tables)

    choice, problem = parse_range(params)
    if problem:
        notices.append(problem)
    summary = None
    if choice.is_custom:
        start, end = choice.start, choice.end
    else:
        if SUMMARY in tables:
            summary = queries.standard_range(con, organization, choice.key)
        if summary is not None:
            start, end = summary.start, summary.end
        else:  # the summary was not published: same window, summed from the daily marts
            # (the wall clock only when no published mart carries the as-of date either)
            start, end = standard_window(as_of or dt.date.today(), int(choice.key[:-1]))

    countries = (
        queries.qrp_countries(con, organization) if "mart_qrp_monthly_kpis" in tables else []
    )
    country = params.get("country") or QRP_ALL_COUNTRIES
    if countries and country not in countries:
        notices.append(f"No QRP referrals from country {country!r}; showing all countries.")
        country = QRP_ALL_COUNTRIES

    reader = _Reader(
        con=con,
        organization=organization,
        tables=tables,
        states=states,
        refresh=refresh,
        refresh_problem=refresh_problem,
        choice=choice,
        start=start,
        end=end,
        as_of=as_of,
        summary=summary,
        country=country,
    )
    widgets = [_widget(reader, spec) for spec in catalog.WIDGETS]
    published = next(iter(states.values()), None)
    return Dashboard(
        serving_db=serving_db,
        organization=organization,
        organizations=organizations,
        choice=choice,
        start=start,
        end=end,
        as_of=as_of,
        country=country,
        countries=countries,
        widgets=widgets,
        notices=notices,
        published_version=published.version if published else None,
        published_at=published.published_at if published else None,
        names=names,
    )


def standard_window(as_of: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """(as_of − N months + 1 day, as_of), month arithmetic clamping to month end (marts.md)."""
    years, month0 = divmod(as_of.month - 1 - months, 12)
    year, month = as_of.year + years, month0 + 1
    shifted = dt.date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))
    return shifted + dt.timedelta(days=1), as_of


# --- one widget ------------------------------------------------------------------------------------


def _widget(reader: _Reader, spec: WidgetSpec) -> WidgetView:
    view = WidgetView(spec, _scope(reader, spec))
    marts = [spec.mart, *([SUMMARY] if reader.uses_summary(spec) else [])]
    _assess(reader, view, marts)
    if view.has_data:
        try:
            BUILDERS[spec.key](reader, view)
        except duckdb.Error as exc:  # one unreadable mart must not take the page down
            view.has_data = False
            view.status = "failed"
            view.warnings.append(f"Could not read {spec.mart}: {type(exc).__name__}: {exc}")
    return view


def _scope(reader: _Reader, spec: WidgetSpec) -> str:
    if spec.time_bound:
        return f"{reader.choice.label()}: {reader.start} to {reader.end}"
    as_of = formatting.day(reader.as_of)
    if spec.key == "qrp":
        if reader.as_of is None:
            return "Creation months: the 10 months ending with the as-of month."
        year, month0 = divmod(reader.as_of.year * 12 + reader.as_of.month - 1 - 9, 12)
        first = dt.date(year, month0 + 1, 1)
        return (
            f"Creation months {formatting.month(first)} to {formatting.month(reader.as_of)} "
            "(the 10 months ending with the as-of month); not affected by the time range."
        )
    return f"Current state as of {as_of}; not affected by the time range."


def _assess(reader: _Reader, view: WidgetView, marts: list[str]) -> None:
    """Refresh details of the marts the widget reads, and the warnings they call for."""
    statuses = []
    if reader.refresh is None:
        view.refresh_note = f"Refresh details unavailable: {reader.refresh_problem}."
    for mart in marts:
        state = reader.states.get(mart)
        details = (reader.refresh or {}).get(mart)
        statuses.append(details.status if details else None)
        view.refresh.append(_refresh_row(mart, details, state))
        failure = (
            f" ({details.failed_expectations})" if details and details.failed_expectations else ""
        )
        if mart not in reader.tables:
            if mart == view.spec.mart:
                view.has_data = False
            why = (
                "it failed validation and no earlier good version was ever published"
                if state and state.state == "not_published"
                else "it is not in the published set"
            )
            view.warnings.append(f"No data: {mart} is not available, {why}{failure}.")
            statuses.append("failed")
        elif state and state.state == "kept_previous":
            view.stale = True
            view.warnings.append(
                f"Validation failed for {mart} at the last refresh{_at(details)}{failure}. "
                f"Showing its last good data, refreshed "
                f"{formatting.timestamp(state.data_refreshed_at)}."
            )
            statuses.append("failed")
        elif details and details.status == "failed":
            view.stale = True
            view.warnings.append(
                f"Validation failed for {mart} at the last refresh{_at(details)}{failure}: "
                "these numbers did not pass validation."
            )
    known = [s for s in statuses if s]
    for status in ("failed", "warning", "ok"):
        if status in known:
            view.status = status
            break


def _at(details: queries.WidgetRefresh | None) -> str:
    return f" ({formatting.timestamp(details.refreshed_at)})" if details else ""


def _refresh_row(
    mart: str, details: queries.WidgetRefresh | None, state: queries.PublishState | None
) -> RefreshRow:
    missing = formatting.MISSING
    return RefreshRow(
        mart=mart,
        status=details.status if details else None,
        refreshed_at=formatting.timestamp(details.refreshed_at) if details else missing,
        data_as_of=formatting.day(details.data_as_of) if details else missing,
        expectations=(
            f"{details.expectations_evaluated} evaluated, {details.expectations_failed} failed"
            if details
            else missing
        ),
        quarantined_records=(
            str(details.quarantined_records)
            if details and details.quarantined_records is not None
            else missing
        ),
        failed_expectations=(details.failed_expectations or "none") if details else missing,
        publish_state=state.state.replace("_", " ") if state else "not in the published set",
        data_refreshed_at=formatting.timestamp(state.data_refreshed_at) if state else missing,
    )


# --- the widgets' contents --------------------------------------------------------------------------


def _headline(reader: _Reader, view: WidgetView) -> dict[str, float | None]:
    spec = view.spec
    if reader.uses_summary(spec):
        values = reader.summary.metrics
    else:
        values = queries.custom_range_totals(
            reader.con, spec.mart, reader.organization, reader.start, reader.end
        )
    for m in spec.headline:
        value = values.get(m.metric)
        view.metrics.append(Metric(m.metric, m.label, value, formatting.FORMATS[m.kind](value)))
    return values


def _trend(
    reader: _Reader, view: WidgetView, title: str, series: list[tuple[str, str]], points=None
) -> list[dict]:
    if points is None:
        points = queries.monthly(
            reader.con, view.spec.mart, reader.organization, reader.start, reader.end
        )
    view.charts.append(Chart(title, charts.monthly_lines(points, series, "Count")))
    return points


def _labels(view: WidgetView) -> list[tuple[str, str]]:
    return [(m.metric, m.label) for m in view.spec.headline if m.kind == "count"]


def _referrals(reader: _Reader, view: WidgetView) -> None:
    _headline(reader, view)
    _trend(reader, view, "Referrals by month" + CUT_MONTHS, _labels(view))


def _cosell(reader: _Reader, view: WidgetView) -> None:
    _headline(reader, view)
    _trend(reader, view, "Co-sell opportunities by month" + CUT_MONTHS, _labels(view))


def _leads(reader: _Reader, view: WidgetView) -> None:
    _headline(reader, view)
    labels = dict(_labels(view))
    points = _trend(
        reader,
        view,
        "Leads by month" + CUT_MONTHS,
        [(m, labels[m]) for m in ("leads_received", "leads_accepted", "leads_won")],
    )
    _trend(
        reader,
        view,
        "Profile traffic by month" + CUT_MONTHS,
        [(m, labels[m]) for m in ("leads_page_views", "leads_cta_clicks")],
        points,
    )


def _revenue(reader: _Reader, view: WidgetView) -> None:
    _headline(reader, view)
    by_kind = queries.revenue_by_kind(reader.con, reader.organization, reader.start, reader.end)
    split = [
        Metric(
            f"revenue_won_usd:{kind}",
            f"Won value: {label.lower()}",
            by_kind.get(kind, 0.0),
            formatting.usd(by_kind.get(kind, 0.0)),
        )
        for kind, label in catalog.REFERRAL_KINDS.items()
    ]
    view.metrics[1:1] = split  # after the total won value, before the approved value
    points = queries.monthly(
        reader.con, view.spec.mart, reader.organization, reader.start, reader.end
    )
    view.charts.append(Chart("Revenue by month, USD" + CUT_MONTHS, charts.revenue_trend(points)))


def _solutions_outlook(reader: _Reader, view: WidgetView) -> None:
    counts = queries.solutions_outlook(reader.con, reader.organization)
    statuses = [*catalog.SOLUTION_STATUSES, *sorted(set(counts) - set(catalog.SOLUTION_STATUSES))]
    for status in statuses:
        n = counts.get(status, 0)
        view.metrics.append(Metric(f"solutions:{status}", status, n, formatting.count(n)))
    view.charts.append(
        Chart(
            "Published solutions",
            charts.solutions_outlook([(s, counts.get(s, 0)) for s in statuses]),
        )
    )


def _referral_distribution(reader: _Reader, view: WidgetView) -> None:
    rows = queries.referral_distribution(reader.con, reader.organization)
    if not rows:
        view.empty_note = "No referrals for this organization."
        return
    counts = {(c, s, ss): n for c, s, ss, n in rows}
    categories = _ordered({c for c, _, _ in counts}, catalog.REFERRAL_CATEGORIES)
    states = _ordered({(s, ss) for _, s, ss in counts}, catalog.REFERRAL_STATES)
    label = catalog.REFERRAL_CATEGORIES.get
    body = []
    for status, substatus in states:
        cells = [Cell(f"{status} / {substatus}")]
        for category in categories:
            n = counts.get((category, status, substatus), 0)
            cells.append(
                Cell(formatting.count(n), f"distribution:{category}:{status}:{substatus}", n)
            )
        total = sum(counts.get((c, status, substatus), 0) for c in categories)
        cells.append(Cell(formatting.count(total), None, total))
        body.append(cells)
    totals = [Cell("Total")]
    for category in categories:
        n = sum(v for (c, _, _), v in counts.items() if c == category)
        totals.append(Cell(formatting.count(n), f"distribution:{category}", n))
    totals.append(Cell(formatting.count(sum(counts.values())), None, sum(counts.values())))
    body.append(totals)
    header = ["Status / substatus", *(label(c, c) for c in categories), "Total"]
    view.tables.append(Table(None, header, body))
    records = [
        {
            "category": label(c, c),
            "category_order": categories.index(c),
            "state": f"{s} / {ss}",
            "rank": states.index((s, ss)),
            "referrals": n,
        }
        for (c, s, ss), n in counts.items()
    ]
    view.charts.append(Chart("Referrals by current status", charts.referral_distribution(records)))


def _ordered(values: set, canonical) -> list:
    known = [v for v in canonical if v in values]
    return known + sorted(values - set(known))


def _qrp(reader: _Reader, view: WidgetView) -> None:
    rows = queries.qrp_monthly_kpis(reader.con, reader.organization, reader.country)
    if not rows:
        view.empty_note = (
            "No QRP referrals in these months (the widget applies only to partners enrolled in "
            "the Qualified Referral Program)."
        )
        return
    for program in _ordered({r["program"] for r in rows}, catalog.QRP_PROGRAMS):
        body = []
        for r in (r for r in rows if r["program"] == program):
            month = r["month"].isoformat()
            key = f"qrp:{program}:{month}"
            cells = [
                Cell(formatting.month(r["month"])),
                Cell(
                    formatting.count(r["referrals_received"]),
                    f"{key}:referrals_received",
                    r["referrals_received"],
                ),
                Cell(f"{r['goals_met']} of 5", f"{key}:goals_met", r["goals_met"]),
            ]
            for rate, _ in catalog.QRP_RATES:
                status = r[f"{rate}_status"]
                cells.append(
                    Cell(
                        formatting.percent(r[f"{rate}_pct"]),
                        f"{key}:{rate}_pct",
                        r[f"{rate}_pct"],
                        catalog.GOAL_STATUS_CSS.get(status, "goal-none"),
                        status or "no rate (nothing to divide by)",
                    )
                )
            body.append(cells)
        header = ["Month", "Received", "Goals met", *(label for _, label in catalog.QRP_RATES)]
        caption = f"{program}: {'all countries' if reader.country == QRP_ALL_COUNTRIES else reader.country}"
        view.tables.append(Table(caption, header, body, legend=True))


def _histogram(buckets: tuple[str, ...], prefix: str, title: str) -> Callable:
    def build(reader: _Reader, view: WidgetView) -> None:
        counts = queries.histogram(
            reader.con, view.spec.mart, reader.organization, reader.start, reader.end
        )
        kinds = catalog.REFERRAL_KINDS
        body = []
        for bucket in buckets:
            cells = [Cell(bucket)]
            for kind in kinds:
                n = counts.get((kind, bucket), 0)
                cells.append(Cell(formatting.count(n), f"{prefix}:{kind}:{bucket}", n))
            total = sum(counts.get((k, bucket), 0) for k in kinds)
            cells.append(Cell(formatting.count(total), None, total))
            body.append(cells)
        totals = [Cell("Total")]
        for kind in kinds:
            n = sum(counts.get((kind, b), 0) for b in buckets)
            totals.append(Cell(formatting.count(n), f"{prefix}:{kind}", n))
        grand = sum(counts.get((k, b), 0) for k in kinds for b in buckets)
        totals.append(Cell(formatting.count(grand), None, grand))
        body.append(totals)
        view.tables.append(Table(None, ["Time", *kinds.values(), "Total"], body))
        records = [
            {"bucket": b, "bucket_order": i, "kind": label, "referrals": counts.get((kind, b), 0)}
            for i, b in enumerate(buckets)
            for kind, label in kinds.items()
        ]
        view.charts.append(Chart(title, charts.histogram(records)))

    return build


BUILDERS: dict[str, Callable[[_Reader, WidgetView], None]] = {
    "solutions_outlook": _solutions_outlook,
    "referrals": _referrals,
    "cosell": _cosell,
    "leads": _leads,
    "referral_distribution": _referral_distribution,
    "qrp": _qrp,
    "acceptance_time": _histogram(
        catalog.ACCEPTANCE_BUCKETS, "acceptance_time", "Referrals by time to accept"
    ),
    "win_time": _histogram(catalog.WIN_TIME_BUCKETS, "win_time", "Won referrals by time to win"),
    "revenue": _revenue,
}
