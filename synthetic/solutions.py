"""Published marketplace solutions per partner org, with status changes over time."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestration.contract import CO_SELL_STATUSES, PUBLISH_STATUSES
from synthetic.catalog import PRODUCTS, SOLUTION_ID_SUFFIX
from synthetic.organizations import Organization
from synthetic.timeline import DAY, Timeline, stream

LIVE, DRAFT, DELISTED = PUBLISH_STATUSES
IN_MARKET, CO_SELL_READY, AZURE_IP = CO_SELL_STATUSES


@dataclass(frozen=True)
class Solution:
    id: str
    org: int  # index of the publishing partner org
    name: str
    offer_id: str
    solution_type: str
    publish_status: str  # state before any change
    co_sell_status: str
    updated: int  # instant of that state; negative = before the covered period
    changes: tuple[tuple[int, str, str], ...]  # (instant, field, new value), in time order

    def state(self, end: int) -> tuple[str, str, int]:
        """(publishStatus, coSellStatus, updated instant) after every change before `end`."""
        publish, co_sell, updated = self.publish_status, self.co_sell_status, self.updated
        for instant, field, value in self.changes:
            if instant >= end:
                break
            if field == "publishStatus":
                publish = value
            else:
                co_sell = value
            updated = instant
        return publish, co_sell, updated

    def changed_between(self, start: int, end: int) -> bool:
        return any(start <= instant < end for instant, _, _ in self.changes)

    def record(self, end: int, org_id: str, timeline: Timeline) -> dict:
        publish, co_sell, updated = self.state(end)
        return {
            "id": self.id,
            "organizationId": org_id,
            "name": self.name,
            "offerId": self.offer_id,
            "solutionType": self.solution_type,
            "publishStatus": publish,
            "coSellStatus": co_sell,
            "updatedDateTime": timeline.iso(updated),
        }


def plan_solutions(seed: int, orgs: list[Organization], timeline: Timeline) -> list[Solution]:
    """3-15 solutions per org. The first three are Live with one co-sell status each and never
    change, so every status occurs among each org's published solutions at all times; the
    others start in mixed states and may go live, be upgraded or be delisted later."""
    rng = stream(seed, "solutions")
    solutions = []
    for org_index, org in enumerate(orgs):
        count = int(rng.integers(3, 16))
        products = [PRODUCTS[i] for i in rng.permutation(len(PRODUCTS))[:count]]
        products.sort(key=lambda product: product[1] != "IP")  # an IP product leads
        for j, (name, solution_type) in enumerate(products):
            if j < 3:
                publish, co_sell = LIVE, (AZURE_IP, CO_SELL_READY, IN_MARKET)[j]
                changes: tuple[tuple[int, str, str], ...] = ()
            else:
                publish, co_sell, changes = _evolving_state(rng, solution_type, timeline)
            solutions.append(
                Solution(
                    id=f"SOL-{org.mpn_id + j + 1}-{SOLUTION_ID_SUFFIX[solution_type]}",
                    org=org_index,
                    name=name,
                    offer_id=f"{org.slug}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}",
                    solution_type=solution_type,
                    publish_status=publish,
                    co_sell_status=co_sell,
                    updated=-int(rng.integers(DAY, 400 * DAY)),
                    changes=changes,
                )
            )
    return solutions


def _evolving_state(
    rng, solution_type: str, timeline: Timeline
) -> tuple[str, str, tuple[tuple[int, str, str], ...]]:
    publish = str(rng.choice([LIVE, DRAFT, DELISTED], p=[0.6, 0.3, 0.1]))
    co_sell = str(rng.choice([IN_MARKET, CO_SELL_READY, AZURE_IP], p=[0.5, 0.35, 0.15]))
    if co_sell == AZURE_IP and solution_type != "IP":  # the incentive is for IP solutions only
        co_sell = CO_SELL_READY
    first, second, third = sorted(int(t) for t in rng.integers(0, timeline.horizon, size=3))
    changes = []
    live = publish == LIVE
    if publish == DRAFT and rng.random() < 0.7:
        changes.append((first, "publishStatus", LIVE))
        live = True
    if co_sell == IN_MARKET and rng.random() < 0.6:
        co_sell_now = CO_SELL_READY
        changes.append((second, "coSellStatus", co_sell_now))
    else:
        co_sell_now = co_sell
    if co_sell_now == CO_SELL_READY and solution_type == "IP" and rng.random() < 0.5:
        changes.append((third, "coSellStatus", AZURE_IP))
    if live and rng.random() < 0.15:
        changes.append((third + DAY, "publishStatus", DELISTED))
    return publish, co_sell, tuple(sorted(changes))
