"""Daily marketplace page views and CTA clicks per offer (one offer per solution)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.contract import TRAFFIC_COLUMNS
from synthetic.solutions import DELISTED, LIVE, Solution
from synthetic.timeline import DAY, Timeline, stream

HEADER = ",".join(TRAFFIC_COLUMNS)
RESTATE_EVERY = 4  # every 4th file restates a few rows of the previous file's days
RESTATED_ROWS = 2
WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.9, 0.55, 0.5])  # Monday first


@dataclass(frozen=True)
class TrafficRow:
    date: str
    organization_id: str
    offer_id: str
    page_views: int
    cta_clicks: int

    def csv(self) -> str:
        return (
            f"{self.date},{self.organization_id},{self.offer_id},{self.page_views},"
            f"{self.cta_clicks}"
        )


@dataclass(frozen=True)
class TrafficPlan:
    views: np.ndarray  # [day, solution]; -1 where the offer was not listed that day
    clicks: np.ndarray


def plan_traffic(seed: int, solutions: list[Solution], timeline: Timeline) -> TrafficPlan:
    """Poisson page views around a per-offer level (tens to hundreds a day), weekly pattern
    and slow growth; clicks are a few percent of views. Live offers get full traffic,
    delisted ones a trickle (old links), drafts none."""
    rng = stream(seed, "traffic")
    days = np.arange(timeline.covered_days)
    listing = np.array([[_listing_factor(s, int(d + 1) * DAY) for s in solutions] for d in days])
    weekday = WEEKDAY_FACTOR[(timeline.first_day.weekday() + days) % 7]
    level = rng.lognormal(np.log(90.0), 0.6, size=len(solutions))
    expected = level[None, :] * (weekday * np.linspace(0.9, 1.3, days.size))[:, None] * listing
    views = rng.poisson(expected)
    clicks = rng.binomial(views, rng.uniform(0.01, 0.06, size=len(solutions)))
    return TrafficPlan(np.where(listing > 0, views, -1), clicks)


def traffic_rows(
    plan: TrafficPlan,
    solutions: list[Solution],
    org_ids: list[str],
    timeline: Timeline,
    k: int,
    seed: int,
) -> tuple[list[TrafficRow], int]:
    """Rows of snapshot k's file (its days, by date then offer), then any restated rows.

    Returns the rows and how many at the end are restatements.
    """
    rows = [
        row
        for day in timeline.interval_days(k)
        for row in _day_rows(plan, solutions, org_ids, timeline, day)
    ]
    if k == 0 or k % RESTATE_EVERY != RESTATE_EVERY - 1:
        return rows, 0
    earlier = [
        row
        for day in timeline.interval_days(k - 1)
        for row in _day_rows(plan, solutions, org_ids, timeline, day)
    ]
    rng = stream(seed, "restatements", k)
    picks = rng.choice(len(earlier), size=min(RESTATED_ROWS, len(earlier)), replace=False)
    restated = [_corrected(earlier[i], rng) for i in sorted(picks.tolist())]
    return rows + restated, len(restated)


def _day_rows(
    plan: TrafficPlan, solutions: list[Solution], org_ids: list[str], timeline: Timeline, day: int
) -> list[TrafficRow]:
    date = timeline.day(day).isoformat()
    return [
        TrafficRow(
            date, org_ids[s.org], s.offer_id, int(plan.views[day, i]), int(plan.clicks[day, i])
        )
        for i, s in enumerate(solutions)
        if plan.views[day, i] >= 0
    ]


def _corrected(row: TrafficRow, rng: np.random.Generator) -> TrafficRow:
    """The marketplace's late correction of a day: a few more views (bot filtering undone)."""
    views = row.page_views + max(1, round(row.page_views * 0.04))
    return TrafficRow(
        row.date, row.organization_id, row.offer_id, views, row.cta_clicks + int(rng.integers(0, 2))
    )


def _listing_factor(solution: Solution, end: int) -> float:
    publish = solution.state(end)[0]
    return {LIVE: 1.0, DELISTED: 0.05}.get(publish, 0.0)
