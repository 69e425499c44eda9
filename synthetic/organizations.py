"""Partner organisations of the landing zone and the outside partners that invite them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from orchestration import contract
from synthetic.catalog import PARTNER_NAMES, THIRD_PARTY_PARTNERS
from synthetic.timeline import guid, guid_halves, stream

MSFT_ID = contract.MICROSOFT_ORGANIZATION_ID
MSFT_NAME = "Microsoft"


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    mpn_id: int  # 7-digit PartnerID; solution ids are numbered from it

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "", self.name.lower())


def make_organizations(seed: int, count: int) -> tuple[list[Organization], list[Organization]]:
    """`count` partner orgs of the warehouse, then the outside partners (stable per seed)."""
    rng = stream(seed, "organizations")
    names = [PARTNER_NAMES[i] for i in rng.permutation(len(PARTNER_NAMES))]
    names = [_nth_name(names, i) for i in range(count)] + list(THIRD_PARTY_PARTNERS)
    hi, lo = guid_halves(rng, len(names))
    # Distinct MPN blocks 1000 apart leave room for up to 1000 solution ids per org.
    mpn = 6_000_000 + 1_000 * rng.choice(3_000, size=len(names), replace=False)
    orgs = [
        Organization(guid(int(h), int(low)), name, int(m))
        for h, low, name, m in zip(hi, lo, names, mpn.tolist(), strict=True)
    ]
    return orgs[:count], orgs[count:]


def org_weights(count: int) -> np.ndarray:
    """Share of referrals per org: the first partner is the busiest."""
    weights = 1.0 / np.arange(1, count + 1) ** 0.7
    return weights / weights.sum()


def _nth_name(names: list[str], i: int) -> str:
    base = names[i % len(names)]
    return base if i < len(names) else f"{base} {i // len(names) + 1}"
