"""The widgets' charts as Vega-Lite specs, built with Altair.

The page embeds them with vega-embed (served locally, see app.py); the PDF renders the same specs
to PNG with vl-convert. Each chart's spec is built by Altair once per process and then only gets
the view's records as inline data (building it anew costs ~10 ms a chart, most of a page's
server time). Months are pre-formatted ordinal labels ordered by an `order` field, so no time zone
of the viewer can shift a month.
"""

from __future__ import annotations

import json
from functools import cache

import altair as alt

from dashboard import formatting

# The Vega-Lite line of Altair's specs, used by the page's bundle and the PDF's renderer alike.
VEGA_LITE_VERSION = "6.4"
HEIGHT = 170
PALETTE = [
    "#2f6fb3", "#e08a2c", "#3a9a5b", "#b8463f", "#7d5ba6", "#8c8c8c", "#c9a227", "#2aa3a3",
]  # fmt: skip
CONFIG = {
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "grid": True, "gridColor": "#eceff3"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom", "title": None},
    "range": {"category": PALETTE},
    "font": "Helvetica, Arial, sans-serif",
}
NO_DATA = alt.Data(values=[])
MONTH_AXIS = alt.X(
    "month:O",
    sort=alt.EncodingSortField("order", op="min"),
    title=None,
    axis=alt.Axis(labelAngle=0),
)


def to_spec(chart: alt.TopLevelMixin, validate: bool = False) -> str:
    """The chart's spec as JSON text, without data (the tests validate it against the schema)."""
    spec = chart.properties(width="container", height=HEIGHT).to_dict(validate=validate)
    spec["config"] = CONFIG
    return json.dumps(spec)


def _with_data(template: str, records: list[dict]) -> dict:
    spec = json.loads(template)
    spec["data"] = {"values": records}
    return spec


def fixed_width(spec: dict, width: int) -> dict:
    """The same spec for a renderer without a page container (vl-convert)."""
    return {**spec, "width": width}


@cache
def _monthly_lines(y_title: str) -> str:
    chart = (
        alt.Chart(NO_DATA)
        .mark_line(point=True)
        .encode(
            x=MONTH_AXIS,
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color("series:N", sort=alt.EncodingSortField("series_order", op="min")),
            tooltip=["month:O", "series:N", alt.Tooltip("value:Q", format=",")],
        )
    )
    return to_spec(chart)


def monthly_lines(points: list[dict], series: list[tuple[str, str]], y_title: str) -> dict:
    """One line per (column, label) of `points` (dicts with `month`), by calendar month."""
    records = [
        {
            "month": formatting.month(p["month"]),
            "order": i,
            "series": label,
            "series_order": j,
            "value": p[column],
        }
        for i, p in enumerate(points)
        for j, (column, label) in enumerate(series)
    ]
    return _with_data(_monthly_lines(y_title), records)


REVENUE_SERIES = (
    ("won_value_usd_lead", "Won value: leads", "bar"),
    ("won_value_usd_cosell", "Won value: co-sell", "bar"),
    ("ip_cosell_approved_value_usd", "IP co-sell approved value", "line"),
)


@cache
def _revenue_trend() -> str:
    color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=[label for _, label, _ in REVENUE_SERIES], range=PALETTE[:3]),
    )
    tooltip = ["month:O", "series:N", alt.Tooltip("usd:Q", format="$,.2f")]
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=MONTH_AXIS, y=alt.Y("usd:Q", stack=True, title="USD"), color=color, tooltip=tooltip
        )
        .transform_filter(alt.datum.mark == "bar")
    )
    line = (
        alt.Chart()
        .mark_line(point=True)
        .encode(x=MONTH_AXIS, y=alt.Y("usd:Q"), color=color, tooltip=tooltip)
        .transform_filter(alt.datum.mark == "line")
    )
    return to_spec(alt.layer(bars, line, data=NO_DATA))


def revenue_trend(points: list[dict]) -> dict:
    """Won value stacked by referral kind (leads vs co-sell), IP co-sell approved value as a line."""
    records = [
        {
            "month": formatting.month(p["month"]),
            "order": i,
            "series": label,
            "mark": mark,
            "usd": p[column],
        }
        for i, p in enumerate(points)
        for column, label, mark in REVENUE_SERIES
    ]
    return _with_data(_revenue_trend(), records)


@cache
def _solutions_outlook() -> str:
    base = alt.Chart(NO_DATA).encode(
        y=alt.Y("status:N", sort=alt.EncodingSortField("order", op="min"), title=None),
        x=alt.X("solutions:Q", title="Published solutions", axis=alt.Axis(tickMinStep=1)),
    )
    bars = base.mark_bar(color=PALETTE[0]).encode(tooltip=["status:N", "solutions:Q"])
    labels = base.mark_text(align="left", dx=4).encode(text="solutions:Q")
    return to_spec(alt.layer(bars, labels))


def solutions_outlook(counts: list[tuple[str, int]]) -> dict:
    records = [{"status": s, "order": i, "solutions": n} for i, (s, n) in enumerate(counts)]
    return _with_data(_solutions_outlook(), records)


@cache
def _referral_distribution() -> str:
    chart = (
        alt.Chart(NO_DATA)
        .mark_bar()
        .encode(
            y=alt.Y(
                "category:N", sort=alt.EncodingSortField("category_order", op="min"), title=None
            ),
            x=alt.X("referrals:Q", stack=True, title="Referrals"),
            color=alt.Color(
                "state:N",
                sort=alt.EncodingSortField("rank", op="min"),
                legend=alt.Legend(columns=4),
            ),
            order=alt.Order("rank:Q"),
            tooltip=["category:N", "state:N", alt.Tooltip("referrals:Q", format=",")],
        )
    )
    return to_spec(chart)


def referral_distribution(rows: list[dict]) -> dict:
    """Current referrals per category (`category`, `category_order`), stacked by status /
    substatus (`state`) in life-cycle order (`rank`)."""
    return _with_data(_referral_distribution(), rows)


@cache
def _histogram() -> str:
    chart = (
        alt.Chart(NO_DATA)
        .mark_bar()
        .encode(
            x=alt.X(
                "bucket:N",
                sort=alt.EncodingSortField("bucket_order", op="min"),
                title=None,
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("kind:N"),
            y=alt.Y("referrals:Q", title="Referrals"),
            color=alt.Color("kind:N"),
            tooltip=["bucket:N", "kind:N", alt.Tooltip("referrals:Q", format=",")],
        )
    )
    return to_spec(chart)


def histogram(rows: list[dict]) -> dict:
    """Referrals per duration bucket (`bucket`, `bucket_order`), one bar per referral kind."""
    return _with_data(_histogram(), rows)
