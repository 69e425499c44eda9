"""The dashboard widgets whose marts are validated: one Great Expectations suite per widget mart.

Each widget (its name, mart, feeding sources and grain) is defined in the dbt model's `meta`.

`sources` are the landing-zone sources whose files feed the widget. They decide which
quarantined records and unreadable files count against it and which snapshots its freshness
expectation looks at. Every mart carries the warehouse as-of date, which comes from the referral
snapshots; that alone does not make `referrals` a feeding source (the solutions outlook is fed by
solution snapshots only).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from orchestration import settings

REFERRALS, SOLUTIONS, TRAFFIC = "referrals", "solutions", "marketplace_traffic"
SOURCES = (REFERRALS, SOLUTIONS, TRAFFIC)


@dataclass(frozen=True)
class Widget:
    name: str
    """Person-readable widget name (`mart_widget_refresh.widget`)."""
    mart: str
    """The dbt model in schema `marts`; also the name of its GX expectation suite."""
    sources: tuple[str, ...]
    grain: tuple[str, ...]
    """The mart's key columns: named next to every unexpected row in the validation results."""


# Defined once, in the marts' dbt YAML (`config.meta`: widget, feeding_sources, grain), in the
# dashboard's order; read from that file (what dbt's manifest is built from) so that importing
# this module never needs a dbt parse. The quality step, status, alerts and the dashboard's cards
# (dashboard/widget_catalog.py, titles) all read it from here.
MARTS_YML = (
    settings.DBT_PROJECT_DIR / "models" / "marts" / "referrals_overview" / "_referrals_overview__models.yml"
)


def _widgets_from_dbt() -> tuple[Widget, ...]:
    models = yaml.safe_load(MARTS_YML.read_text())["models"]
    widgets = []
    for model in models:
        meta = (model.get("config") or {}).get("meta") or {}
        if "widget" not in meta:
            continue
        unknown = set(meta["feeding_sources"]) - set(SOURCES)
        if unknown:
            raise ValueError(f"{model['name']}: unknown feeding source(s) {sorted(unknown)}")
        widgets.append(
            Widget(
                name=meta["widget"],
                mart=model["name"],
                sources=tuple(meta["feeding_sources"]),
                grain=tuple(meta["grain"]),
            )
        )
    return tuple(widgets)


WIDGETS: tuple[Widget, ...] = _widgets_from_dbt()
WIDGETS_BY_MART = {w.mart: w for w in WIDGETS}
