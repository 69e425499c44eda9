"""The semantic layer's metric definitions (dbt_project/models/semantic/*.yml), read as data so
that the dashboard's SQL over a range is generated from them instead of written a second time.

Only what the dashboard needs is modelled: simple metrics (a sum of a measure of one mart, 0
when there are no rows) and derived metrics (an expression over other metrics, e.g. a rate as a
ratio of sums). `range_totals_sql` and `monthly_sql` turn a list of metric names of one mart
into the query MetricFlow itself would answer for a day range (tests/test_semantic_layer.py
checks that they agree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from orchestration import settings

SEMANTIC_DIR = settings.DBT_PROJECT_DIR / "models" / "semantic"
_REF = re.compile(r"""ref\(\s*['"](\w+)['"]\s*\)""")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class Measure:
    name: str
    mart: str
    expr: str
    agg: str


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    type: str  # simple | derived
    measure: Measure | None = None
    fill_nulls_with: float | None = None
    filter: str | None = None
    expr: str | None = None  # derived: SQL over the input metrics' names
    inputs: tuple[str, ...] = ()


@cache
def load(folder: Path = SEMANTIC_DIR) -> dict[str, Metric]:
    measures: dict[str, Measure] = {}
    raw_metrics: list[dict] = []
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("semantic_models", []):
            mart = _REF.fullmatch(model["model"].strip())
            for m in model.get("measures", []):
                measures[m["name"]] = Measure(
                    m["name"], mart.group(1) if mart else model["model"], m.get("expr", m["name"]), m["agg"]
                )
        raw_metrics += doc.get("metrics", [])
    metrics = {}
    for m in raw_metrics:
        params = m.get("type_params", {})
        if m["type"] == "simple":
            measure = params["measure"]
            measure = measure if isinstance(measure, dict) else {"name": measure}
            metrics[m["name"]] = Metric(
                m["name"], m["label"], "simple", measures[measure["name"]],
                measure.get("fill_nulls_with"), m.get("filter"),
            )  # fmt: skip
        elif m["type"] == "derived":
            metrics[m["name"]] = Metric(
                m["name"], m["label"], "derived", expr=" ".join(params["expr"].split()),
                inputs=tuple(i if isinstance(i, str) else i["name"] for i in params["metrics"]),
            )  # fmt: skip
        else:
            metrics[m["name"]] = Metric(m["name"], m["label"], m["type"])
    return metrics


def _plan(names: list[str]) -> tuple[str, list[Metric], list[Metric]]:
    """(mart, the simple metrics to sum, the derived ones computed from them)."""
    metrics = load()
    wanted = [metrics[n] for n in names]
    derived = [m for m in wanted if m.type == "derived"]
    simple = [m for m in wanted if m.type == "simple"]
    for d in derived:
        simple += [metrics[i] for i in d.inputs if metrics[i] not in simple]
    marts = {m.measure.mart for m in simple}
    unsupported = [m.name for m in simple if m.filter or m.measure.agg != "sum"]
    if len(marts) != 1 or unsupported or any(m.type not in ("simple", "derived") for m in wanted):
        raise ValueError(f"cannot generate one query for {names} (marts {marts}, {unsupported})")
    for m in [*simple, *derived]:
        assert _IDENTIFIER.fullmatch(m.name), m.name  # names are SQL column aliases
    for m in simple:
        assert _IDENTIFIER.fullmatch(m.measure.expr), m.measure.expr  # a column of the mart
    return marts.pop(), simple, derived


def _sum(metric: Metric, table: str = "") -> str:
    total = f"sum({table}{metric.measure.expr})"
    if metric.fill_nulls_with is not None:
        total = f"coalesce({total}, {metric.fill_nulls_with!r})"
    return f"{total} as {metric.name}"


def range_totals_sql(names: list[str]) -> str:
    """One row: each metric over `organization_id = $organization and date between $start and
    $end` (the input metrics of a derived one are returned too)."""
    mart, simple, derived = _plan(names)
    sums = ",\n        ".join(_sum(m) for m in simple)
    rates = "".join(f",\n    {d.expr} as {d.name}" for d in derived)
    return f"""
with sums as (
    select
        {sums}
    from marts.{mart}
    where organization_id = $organization and date between $start and $end
)
select
    *{rates}
from sums
"""


def monthly_sql(names: list[str]) -> str:
    """One row per calendar month overlapping [$start, $end] (zero-filled, the first and last
    cut to the range): `month` and each simple metric."""
    mart, simple, derived = _plan(names)
    if derived:
        raise ValueError("monthly_sql sums counts; rates per month are not drawn")
    sums = ",\n    ".join(_sum(m, "daily.") for m in simple)
    return f"""
with months as (
    select cast(unnest(generate_series(
        date_trunc('month', cast($start as date)),
        date_trunc('month', cast($end as date)),
        interval 1 month)) as date) as month
),
daily as (
    select * from marts.{mart}
    where organization_id = $organization and date between $start and $end
)
select
    months.month,
    {sums}
from months
left join daily on cast(date_trunc('month', daily.date) as date) = months.month
group by months.month
order by months.month
"""
