"""Referral lifecycles, planned up front as numpy columns and rendered per snapshot.

Every referral copy (a partner's own referral or a Microsoft copy) is one *entity* whose whole
lifecycle is fixed at planning time as event instants (seconds since the timeline epoch, NEVER
when the event does not happen): created, responded (accepted / declined / expired), revised
(deal value, plan date), closed (won / lost), registration filed and decided. A snapshot shows
an entity's state at the end of its date, derived from the events that happened by then. So
nothing per snapshot is stored except which entities changed in which snapshot, and a record
is rebuilt from its columns whenever it is emitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson

from orchestration import contract
from synthetic.catalog import (
    AMOUNT_STEP,
    CALLS_TO_ACTION,
    CITIES,
    COUNTRIES,
    COUNTRY_CURRENCY,
    COUNTRY_MISSING_SHARE,
    COUNTRY_WEIGHTS,
    CURRENCIES,
    CUSTOMER_BASES,
    CUSTOMER_SIZES,
    DECLINE_REASONS,
    LEGAL_SUFFIX,
    LOST_REASONS,
    UNITS_PER_USD,
    UTC_OFFSETS_MINUTES,
    WORKLOADS,
)
from synthetic.organizations import MSFT_ID, MSFT_NAME, Organization, org_weights
from synthetic.timeline import (
    DAY,
    HOUR,
    NEVER,
    Timeline,
    guid,
    guid_halves,
    stream,
    with_offset,
)

# Entity kinds: the four partner categories of the contract, then the two Microsoft copies.
MARKETPLACE, QUALIFIED, COSELL_IN, COSELL_OUT, MSFT_OF_OUTBOUND, MSFT_OF_INBOUND = range(6)
KIND_MIX = (0.36, 0.24, 0.20, 0.20)

NO_RESPONSE, ACCEPT, DECLINE, EXPIRE = range(4)
OPEN, WON, LOST = range(3)

# Rendered (status, substatus) per state code.
STATES = contract.REFERRAL_STATES
S_RECEIVED, S_PENDING, S_ACCEPTED, S_WON, S_LOST, S_DECLINED, S_EXPIRED = range(7)

TYPES = contract.REFERRAL_TYPES
INDEPENDENT, SHARED = range(2)
QUALIFICATIONS = contract.QUALIFICATIONS
Q_NONE, Q_DIRECT, Q_MARKETING, Q_SALES = range(4)
DIRECTIONS = contract.DIRECTIONS
INCOMING, OUTGOING = range(2)
PROGRAMS = (None, "ContactRequest", "DigitalSalesOpportunity", "PartnerLed")
NO_PROGRAM, CONTACT_REQUEST, DIGITAL_SALES, PARTNER_LED = range(4)
REGISTRATION_STATUSES = contract.REGISTRATION_STATUSES
REVIEW_PENDING = 0
# statusHistory key of the instant each registration status was reached.
HISTORY_KEYS = tuple(f"{s[0].lower()}{s[1:]}DateTime" for s in REGISTRATION_STATUSES)

NOT_INVITED, INVITED_BY_MSFT = -1, -2  # inviter column; >= 0 indexes the inviting partner
NO_COUNTRY, NO_PROFILE = -1, -2  # country column; >= 0 indexes COUNTRIES
MSFT_OWNER = -1  # owner column; >= 0 indexes the partner orgs

EXPIRY = 14 * DAY
EVENT_COLUMNS = ("created", "t_resp", "t_rev", "t_close", "t_reg", "t_regf")

# Latency mixtures: (weight, low, high) in seconds, drawn uniformly within a part. Acceptance
# spans every bucket of the acceptance-time mart below 14 days; closing spans every win-time
# bucket up to 400 days after creation.
ACCEPT_LATENCY = (
    (0.30, 10 * 60, DAY),
    (0.30, DAY, 3 * DAY),
    (0.25, 3 * DAY, 7 * DAY),
    (0.15, 7 * DAY, EXPIRY),
)
DECLINE_LATENCY = ((0.5, 10 * 60, 2 * DAY), (0.5, 2 * DAY, EXPIRY))
MSFT_RESPONSE_LATENCY = ((0.3, HOUR, DAY), (0.4, DAY, 5 * DAY), (0.3, 5 * DAY, EXPIRY))
CLOSE_AFTER_CREATION = (
    (0.22, 5 * DAY, 30 * DAY),
    (0.20, 30 * DAY, 60 * DAY),
    (0.15, 60 * DAY, 90 * DAY),
    (0.20, 90 * DAY, 180 * DAY),
    (0.16, 180 * DAY, 365 * DAY),
    (0.07, 365 * DAY, 400 * DAY),
)
# QRP referrals come with Microsoft follow-up, so they are closed sooner and more often.
QRP_CLOSE_AFTER_CREATION = (
    (0.40, 5 * DAY, 30 * DAY),
    (0.25, 30 * DAY, 60 * DAY),
    (0.15, 60 * DAY, 90 * DAY),
    (0.15, 90 * DAY, 180 * DAY),
    (0.05, 180 * DAY, 365 * DAY),
)
QRP_WIN_SHARE, QRP_LOSS_SHARE = 0.14, 0.76
# A few durations land exactly on bucket bounds, where off-by-one errors show.
EXACT_ACCEPT = (DAY, 3 * DAY, 7 * DAY)
EXACT_CLOSE = (30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY, 365 * DAY)
EXACT_SHARE = 0.01

# Per partner kind (MARKETPLACE, QUALIFIED, COSELL_IN, COSELL_OUT).
WIN_SHARE = np.array([0.10, 0.14, 0.20, 0.18])  # of accepted referrals
LOSS_SHARE = np.array([0.55, 0.55, 0.45, 0.45])  # the rest stay open
MEDIAN_DEAL_USD = np.array([15_000, 30_000, 80_000, 80_000])
NO_VALUE_SHARE = np.array([0.35, 0.20, 0.05, 0.05])

WEEKDAY_WEIGHT = np.array([1.0, 1.1, 1.1, 1.0, 0.85, 0.3, 0.25])  # Monday first
HOUR_WEIGHT = np.exp(-(((np.arange(24) - 14) / 4.5) ** 2)) + 0.05
RENDER_CHUNK = 8_192  # entities rendered per vectorised batch: bounds memory per snapshot

Columns = dict[str, np.ndarray]
# Code columns fit in small integers (the rest are instants, amounts and ids).
COMPACT_DTYPES = {
    key: np.int8
    for key in (
        "kind",
        "direction",
        "rtype",
        "qual",
        "program",
        "cta",
        "country",
        "size",
        "workload",
        "offset",
        "resp",
        "outcome",
        "reg_final",
        "currency",
    )
} | {key: np.int16 for key in ("owner", "inviter", "customer", "pick")}


@dataclass(frozen=True)
class ReferralPlan:
    """One row per entity, sorted by creation instant (so files list referrals in that order)."""

    columns: Columns

    @property
    def size(self) -> int:
        return int(self.columns["created"].size)

    def created_before(self, instant: int) -> int:
        """How many entities were created before `instant` (a prefix, by the sort order)."""
        return int(np.searchsorted(self.columns["created"], instant, side="left"))


def plan_referrals(
    seed: int, count: int, timeline: Timeline, n_orgs: int, n_outside: int
) -> ReferralPlan:
    """Plan `count` partner referrals plus the Microsoft copies of their deals."""
    rng = stream(seed, "referrals")
    partners = _plan_partner_referrals(rng, count, timeline, n_orgs, n_outside)
    copies = _plan_microsoft_copies(rng, partners)
    # Merge and sort one column at a time, in compact dtypes: peak memory stays near one
    # copy of the plan (about 150 bytes per entity).
    order = np.argsort(np.concatenate([partners["created"], copies["created"]]), kind="stable")
    columns = {}
    for key in list(partners):
        merged = np.concatenate([partners.pop(key), copies.pop(key)])
        columns[key] = merged[order].astype(COMPACT_DTYPES.get(key, merged.dtype), copy=False)
    return ReferralPlan(columns)


def change_buckets(plan: ReferralPlan, timeline: Timeline) -> list[np.ndarray]:
    """Per snapshot, the sorted entities with an event in the days it covers.

    Snapshot 0 gets every entity created by its end, which makes it the full extract.
    """
    n, snapshots = plan.size, len(timeline.snapshot_dates)
    keys = []
    for name in EVENT_COLUMNS:
        snapshot = np.searchsorted(timeline.ends, plan.columns[name], side="right")
        seen = np.flatnonzero(snapshot < snapshots)
        keys.append(snapshot[seen].astype(np.int64) * n + seen)
    unique = np.unique(np.concatenate(keys))
    snapshot_of, entity = np.divmod(unique, n)
    bounds = np.searchsorted(snapshot_of, np.arange(snapshots + 1))
    return [entity[bounds[k] : bounds[k + 1]] for k in range(snapshots)]


def pick_reemits(
    plan: ReferralPlan, timeline: Timeline, changed: np.ndarray, k: int, seed: int, count: int
) -> np.ndarray:
    """Up to `count` entities already extracted before snapshot k and unchanged in it.

    Real extracts repeat unchanged records now and then; the pipeline must dedupe them.
    """
    existing = plan.created_before(int(timeline.ends[k - 1]))
    if count == 0 or existing == 0:
        return np.empty(0, dtype=np.int64)
    rng = stream(seed, "reemits", k)
    candidates = rng.choice(existing, size=min(existing, 4 * count), replace=False)
    return np.sort(candidates[~np.isin(candidates, changed)][:count])


class ReferralRenderer:
    """Builds the JSON lines of chosen entities as of the end of a snapshot date."""

    def __init__(
        self,
        plan: ReferralPlan,
        timeline: Timeline,
        orgs: list[Organization],
        outside: list[Organization],
        solution_ids: list[list[str]],
    ) -> None:
        self._columns = plan.columns
        self._timeline = timeline
        self._owners = [(org.id, org.name) for org in orgs]
        self._invites = [
            {"invitedBy": {"organizationId": org.id, "organizationName": org.name}}
            for org in orgs + outside
        ]
        self._msft_invite = {
            "invitedBy": {"organizationId": MSFT_ID, "organizationName": MSFT_NAME}
        }
        self._targets = [
            [[{"type": "SolutionProfile", "id": s}] for s in ids] for ids in solution_ids
        ]
        self._profiles: dict[tuple[int, int, int, int], dict | None] = {}
        self._deal_names: dict[tuple[int, int, int], str] = {}

    def lines(self, entities: np.ndarray, snapshot: int) -> Iterator[bytes]:
        end = int(self._timeline.ends[snapshot])
        for low in range(0, entities.size, RENDER_CHUNK):
            yield from self._render_chunk(entities[low : low + RENDER_CHUNK], end)

    def _render_chunk(self, chunk: np.ndarray, end: int) -> list[bytes]:
        c = {key: values[chunk] for key, values in self._columns.items()}
        state, times, value, country, registration = _state_at(c, end)
        iso = self._timeline.iso_list
        rows = zip(
            c["owner"].tolist(),
            c["id_hi"].tolist(),
            c["id_lo"].tolist(),
            c["eng_hi"].tolist(),
            c["eng_lo"].tolist(),
            state.tolist(),
            *(iso(t) for t in times),
            c["kind"].tolist(),
            c["rtype"].tolist(),
            c["qual"].tolist(),
            c["direction"].tolist(),
            c["program"].tolist(),
            c["cta"].tolist(),
            c["inviter"].tolist(),
            c["customer"].tolist(),
            c["size"].tolist(),
            c["workload"].tolist(),
            c["pick"].tolist(),
            country.tolist(),
            value.tolist(),
            c["currency"].tolist(),
            registration.tolist(),
            c["reg_value"].tolist(),
            c["offset"].tolist(),
            strict=True,
        )
        lines = []
        for (
            owner,
            id_hi,
            id_lo,
            eng_hi,
            eng_lo,
            st,
            created,
            updated,
            expiration,
            accepted,
            closed,
            closing,
            reg_at,
            reg_decided_at,
            kind,
            rtype,
            qual,
            direction,
            program,
            cta,
            inviter,
            customer,
            size,
            workload,
            pick,
            ctry,
            deal_value,
            currency,
            reg_status,
            reg_value,
            offset,
        ) in rows:
            status, substatus = STATES[st]
            org_id, org_name = self._owners[owner] if owner >= 0 else (MSFT_ID, MSFT_NAME)
            record = {
                "id": guid(id_hi, id_lo),
                "engagementId": guid(eng_hi, eng_lo),
                "name": self._deal_name(ctry, customer, workload),
                "organizationId": org_id,
                "organizationName": org_name,
                "createdDateTime": created,
                "updatedDateTime": updated,
                "expirationDateTime": expiration,
                "acceptedDateTime": accepted,
                "closedDateTime": closed,
                "status": status,
                "substatus": substatus,
                "statusReason": _status_reason(st, pick),
                "type": TYPES[rtype],
                "qualification": QUALIFICATIONS[qual],
                "direction": DIRECTIONS[direction],
                "referralProgram": PROGRAMS[program],
                "callToAction": CALLS_TO_ACTION[cta] if cta >= 0 else None,
                "target": self._targets[owner][pick % len(self._targets[owner])]
                if kind <= COSELL_OUT
                else [],
            }
            profile = self._profile(ctry, customer, size, pick)
            if profile is not None:
                record["customerProfile"] = profile
            has_value = deal_value >= 0
            record["details"] = {
                "dealValue": deal_value if has_value else None,
                "currency": CURRENCIES[currency] if has_value else None,
                "closingDateTime": closing,
            }
            record["inviteContext"] = (
                self._msft_invite
                if inviter == INVITED_BY_MSFT
                else None
                if inviter == NOT_INVITED
                else self._invites[inviter]
            )
            record["registrations"] = (
                []
                if reg_status < 0
                else [
                    _registration(
                        id_hi, reg_status, reg_at, reg_decided_at, reg_value, CURRENCIES[currency]
                    )
                ]
            )
            if offset:
                _shift_timestamps(record, UTC_OFFSETS_MINUTES[offset - 1])
            lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        return lines

    def _profile(self, country: int, customer: int, size: int, pick: int) -> dict | None:
        if country == NO_PROFILE:
            return None
        key = (country, customer, size, pick % 2)
        if key not in self._profiles:
            address = {}
            if country >= 0:
                code = COUNTRIES[country]
                address = {"city": CITIES[code][pick % 2], "country": code}
            self._profiles[key] = {
                "name": _customer_name(country, customer),
                "size": CUSTOMER_SIZES[size],
                "address": address,
            }
        return self._profiles[key]

    def _deal_name(self, country: int, customer: int, workload: int) -> str:
        key = (country, customer, workload)
        if key not in self._deal_names:
            self._deal_names[key] = f"{_customer_name(country, customer)} – {WORKLOADS[workload]}"
        return self._deal_names[key]


def _state_at(
    c: Columns, end: int
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised state of a batch of entities after every event before `end`.

    Returns state codes, the rendered instants (created, updated, expiration, accepted, closed,
    closing plan, registration filed, registration decided; NEVER = null), deal value, country
    and registration status (-1 = no registration yet).
    """
    resp, outcome, t_resp = c["resp"], c["outcome"], c["t_resp"]
    responded, closed_by_end = t_resp < end, c["t_close"] < end
    revised = c["t_rev"] < end
    state = np.select(
        [
            closed_by_end & (outcome == WON),
            closed_by_end,
            responded & (resp == ACCEPT),
            responded & (resp == DECLINE),
            responded & (resp == EXPIRE),
            c["pending"],
        ],
        [S_WON, S_LOST, S_ACCEPTED, S_DECLINED, S_EXPIRED, S_PENDING],
        default=S_RECEIVED,
    )
    accepted = np.where(responded & (resp == ACCEPT), t_resp, NEVER)
    closed = np.select(
        [closed_by_end & c["won_null"], closed_by_end, responded & (resp >= DECLINE)],
        [NEVER, c["t_close"], t_resp],
        default=NEVER,
    )
    # The expiry deadline shows while a referral awaits an answer, and stays once it expired.
    expiration = np.where(
        c["has_expiry"] & (~responded | (resp == EXPIRE)), c["created"] + EXPIRY, NEVER
    )
    updated = c["created"]
    for name in EVENT_COLUMNS[1:]:
        updated = np.where(c[name] < end, np.maximum(updated, c[name]), updated)
    filed = np.where(c["t_reg"] < end, c["t_reg"], NEVER)
    decided = np.where(c["t_regf"] < end, c["t_regf"], NEVER)
    registration = np.select(
        [decided < NEVER, filed < NEVER], [c["reg_final"], REVIEW_PENDING], default=-1
    )
    times = [
        c["created"],
        updated,
        expiration,
        accepted,
        closed,
        np.where(revised, c["closing_rev"], c["closing_plan"]),
        filed,
        decided,
    ]
    value = np.where(revised, c["value_rev"], c["value"])
    country = np.where(c["country_late"] & ~revised, NO_COUNTRY, c["country"])
    return state, times, value, country, registration


def _registration(
    id_hi: int, status: int, filed: str, decided: str | None, value: int, currency: str
) -> dict:
    history = {HISTORY_KEYS[REVIEW_PENDING]: filed}
    if decided is not None:
        history[HISTORY_KEYS[status]] = decided
    return {
        "id": f"REG-{id_hi >> 32:08X}",
        "registrationDateTime": filed,
        "status": REGISTRATION_STATUSES[status],
        "contract": {"value": value, "currency": currency},
        "statusHistory": history,
    }


def _status_reason(state: int, pick: int) -> str | None:
    if state == S_DECLINED:
        return DECLINE_REASONS[pick % len(DECLINE_REASONS)]
    if state == S_LOST:
        return LOST_REASONS[pick % len(LOST_REASONS)]
    return None


def _customer_name(country: int, customer: int) -> str:
    suffix = LEGAL_SUFFIX[COUNTRIES[country]] if country >= 0 else "Corp"
    return f"{CUSTOMER_BASES[customer]} {suffix}"


def _shift_timestamps(record: dict, minutes: int) -> None:
    """Write every instant of the record with an explicit offset (same instants)."""
    for key in (
        "createdDateTime",
        "updatedDateTime",
        "expirationDateTime",
        "acceptedDateTime",
        "closedDateTime",
    ):
        if record[key] is not None:
            record[key] = with_offset(record[key], minutes)
    details = record["details"]
    details["closingDateTime"] = with_offset(details["closingDateTime"], minutes)
    for registration in record["registrations"]:
        registration["registrationDateTime"] = with_offset(
            registration["registrationDateTime"], minutes
        )
        history = registration["statusHistory"]
        for key, value in history.items():
            history[key] = with_offset(value, minutes)


# --- planning -----------------------------------------------------------------------------


def _plan_partner_referrals(
    rng: np.random.Generator, n: int, timeline: Timeline, n_orgs: int, n_outside: int
) -> Columns:
    c: Columns = {"created": _creation_times(rng, n, timeline)}
    c["kind"] = rng.choice(4, size=n, p=KIND_MIX)
    c["owner"] = rng.choice(n_orgs, size=n, p=org_weights(n_orgs))
    c["direction"] = np.where(c["kind"] == COSELL_OUT, OUTGOING, INCOMING)
    _plan_origin(rng, c, n_orgs, n_outside)
    _plan_customer(rng, c)
    _plan_response(rng, c)
    _plan_outcome(rng, c)
    _plan_deal(rng, c)
    _plan_registration(rng, c)
    c["id_hi"], c["id_lo"] = guid_halves(rng, n)
    c["eng_hi"], c["eng_lo"] = guid_halves(rng, n)
    return c


def _creation_times(rng: np.random.Generator, n: int, timeline: Timeline) -> np.ndarray:
    """Creation instants over the covered days: busy weekdays and office hours, slowly
    growing, with a year-end lull. Sorted, and the first one falls in the first snapshot."""
    days = np.arange(timeline.covered_days)
    dates = [timeline.day(int(d)) for d in days]
    weekday = np.array([d.weekday() for d in dates])
    holiday = np.array([(d.month, d.day) >= (12, 20) or (d.month, d.day) <= (1, 3) for d in dates])
    weights = (
        WEEKDAY_WEIGHT[weekday] * np.linspace(0.8, 1.2, days.size) * np.where(holiday, 0.4, 1.0)
    )
    day = rng.choice(days.size, size=n, p=weights / weights.sum())
    hour = rng.choice(24, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    created = np.sort(day * DAY + hour * HOUR + rng.integers(0, HOUR, size=n))
    first_end = int(timeline.ends[0])
    if created[0] >= first_end:  # keep the first full extract non-empty at tiny sizes
        created[0] = first_end - 14 * HOUR
    return created


def _plan_origin(rng: np.random.Generator, c: Columns, n_orgs: int, n_outside: int) -> None:
    """Who sent each referral, its type, qualification and QRP program."""
    kind = c["kind"]
    n = kind.size
    p2p = (kind == COSELL_IN) & (rng.random(n) < 0.12)  # invited by another partner
    via_partner = (kind == MARKETPLACE) & (rng.random(n) < 0.15)  # lead passed on by a partner
    outside = n_orgs + rng.integers(0, n_outside, size=n)
    c["inviter"] = np.select(
        [(kind == QUALIFIED) | ((kind == COSELL_IN) & ~p2p), p2p | via_partner],
        [INVITED_BY_MSFT, outside],
        default=NOT_INVITED,
    )
    independent_p2p = p2p & (rng.random(n) < 0.4)
    c["rtype"] = np.where((kind >= COSELL_IN) & ~independent_p2p, SHARED, INDEPENDENT)
    c["qual"] = np.select(
        [kind == MARKETPLACE, kind == QUALIFIED, p2p, kind == COSELL_IN],
        [
            Q_DIRECT,
            rng.choice([Q_MARKETING, Q_SALES], size=n, p=[0.55, 0.45]),
            rng.choice([Q_NONE, Q_SALES], size=n, p=[0.6, 0.4]),
            rng.choice([Q_SALES, Q_DIRECT, Q_NONE, Q_MARKETING], size=n, p=[0.55, 0.3, 0.1, 0.05]),
        ],
        default=rng.choice([Q_NONE, Q_SALES], size=n, p=[0.75, 0.25]),
    )
    # QRP tags sit on about a third of Microsoft's qualified leads and a few co-sell deals.
    u = rng.random(n)
    qrp = rng.choice([CONTACT_REQUEST, DIGITAL_SALES], size=n, p=[0.6, 0.4])
    msft_cosell = (kind == COSELL_IN) & ~p2p
    c["program"] = np.select(
        [
            (kind == QUALIFIED) & (u < 0.36),
            (kind == QUALIFIED) & (u < 0.38),
            msft_cosell & (u < 0.04),
            msft_cosell & (u < 0.05),
        ],
        [qrp, PARTNER_LED, qrp, PARTNER_LED],
        default=NO_PROGRAM,
    )
    c["cta"] = np.where(kind == MARKETPLACE, rng.integers(0, len(CALLS_TO_ACTION), size=n), -1)


def _plan_customer(rng: np.random.Generator, c: Columns) -> None:
    n = c["kind"].size
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    missing = rng.random(n) < COUNTRY_MISSING_SHARE
    c["country"] = np.where(missing, np.where(rng.random(n) < 0.5, NO_COUNTRY, NO_PROFILE), country)
    c["customer"] = rng.integers(0, len(CUSTOMER_BASES), size=n)
    c["size"] = rng.integers(0, len(CUSTOMER_SIZES), size=n)
    c["workload"] = rng.integers(0, len(WORKLOADS), size=n)
    c["pick"] = rng.integers(0, 1_000, size=n)  # drives small choices: target, city, reasons
    c["offset"] = np.where(
        rng.random(n) < 0.006, rng.integers(1, len(UTC_OFFSETS_MINUTES) + 1, size=n), 0
    )


def _plan_response(rng: np.random.Generator, c: Columns) -> None:
    """Inbound referrals are answered within 14 days or expire; outbound ones are accepted
    at creation. Decline and expiry odds vary by customer country, so QRP goals vary too."""
    kind, created = c["kind"], c["created"]
    n = kind.size
    inbound = kind != COSELL_OUT
    slot = np.where(c["country"] >= 0, c["country"], len(COUNTRIES))
    p_expire = rng.uniform(0.01, 0.10, size=len(COUNTRIES) + 1)[slot]
    p_decline = rng.uniform(0.05, 0.22, size=len(COUNTRIES) + 1)[slot] + np.where(
        kind == MARKETPLACE, 0.08, 0.0
    )
    u = rng.random(n)
    resp = np.select(
        [~inbound, u < p_expire, u < p_expire + p_decline],
        [ACCEPT, EXPIRE, DECLINE],
        default=ACCEPT,
    )
    accept_latency = _exactly_some(rng, _mixture(rng, n, ACCEPT_LATENCY), EXACT_ACCEPT)
    latency = np.select(
        [~inbound, resp == ACCEPT, resp == DECLINE],
        [0, accept_latency, _mixture(rng, n, DECLINE_LATENCY)],
        default=EXPIRY,
    )
    c["resp"], c["t_resp"] = resp, created + latency
    c["pending"] = inbound & (rng.random(n) < 0.1)
    c["has_expiry"] = inbound


def _plan_outcome(rng: np.random.Generator, c: Columns) -> None:
    """Accepted deals are won or lost 5..400 days after creation, or never close; a revision
    in between changes the deal value and plan date (and sometimes adds the country)."""
    kind, created, t_resp = c["kind"], c["created"], c["t_resp"]
    n = kind.size
    accepted = c["resp"] == ACCEPT
    qrp = (c["program"] == CONTACT_REQUEST) | (c["program"] == DIGITAL_SALES)
    u = rng.random(n)
    p_won = np.where(qrp, QRP_WIN_SHARE, WIN_SHARE[kind])
    p_lost = np.where(qrp, QRP_LOSS_SHARE, LOSS_SHARE[kind])
    outcome = np.where(
        accepted, np.select([u < p_won, u < p_won + p_lost], [WON, LOST], default=OPEN), OPEN
    )
    after = np.where(
        qrp, _mixture(rng, n, QRP_CLOSE_AFTER_CREATION), _mixture(rng, n, CLOSE_AFTER_CREATION)
    )
    after = _exactly_some(rng, after, EXACT_CLOSE)
    t_close = np.where(outcome == OPEN, NEVER, np.maximum(created + after, t_resp + HOUR))
    c["outcome"], c["t_close"] = outcome, t_close
    # About 5% of wins carry no closedDateTime; the pipeline dates them by updatedDateTime.
    c["won_null"] = (outcome == WON) & (rng.random(n) < 0.05)
    revised = accepted & (rng.random(n) < 0.35)
    until = np.where(outcome == OPEN, t_resp + rng.integers(2 * DAY, 120 * DAY, size=n), t_close)
    step = ((until - t_resp) * rng.uniform(0.2, 0.9, size=n)).astype(np.int64)
    c["t_rev"] = np.where(revised, t_resp + step, NEVER)
    c["country_late"] = revised & (c["country"] >= 0) & (rng.random(n) < 0.1)


def _plan_deal(rng: np.random.Generator, c: Columns) -> None:
    """Deal value in the customer's (or US) currency and the planned closing date."""
    kind, created = c["kind"], c["created"]
    n = kind.size
    local = np.array([CURRENCIES.index(COUNTRY_CURRENCY[code]) for code in COUNTRIES] + [0])
    slot = np.where(c["country"] >= 0, c["country"], len(COUNTRIES))
    currency = np.where(rng.random(n) < 0.25, CURRENCIES.index("USD"), local[slot])
    usd = MEDIAN_DEAL_USD[kind] * np.exp(rng.normal(0.0, 0.9, size=n))
    value = np.select(
        [rng.random(n) < NO_VALUE_SHARE[kind], rng.random(n) < 0.005],
        [-1, 0],
        default=_amount(usd, currency),
    )
    # A revision re-estimates the value, or fills in a missing one.
    revised_value = _amount(usd * rng.uniform(0.6, 1.5, size=n), currency)
    c["currency"], c["value"] = currency, value
    c["value_rev"] = np.where(c["t_rev"] < NEVER, revised_value, value)
    c["usd_estimate"] = _amount(usd, currency)
    plan = (created // DAY + rng.integers(30, 181, size=n)) * DAY
    c["closing_plan"] = plan
    c["closing_rev"] = np.maximum(
        plan + rng.integers(-20, 61, size=n) * DAY, (created // DAY + 1) * DAY
    )


def _plan_registration(rng: np.random.Generator, c: Columns) -> None:
    """IP co-sell deal registrations: mostly on won co-sell deals, some on open ones, and a
    rare one on a won lead (which the marts must ignore)."""
    kind, outcome = c["kind"], c["outcome"]
    n = kind.size
    cosell = kind >= COSELL_IN
    p_reg = np.select(
        [
            (outcome == WON) & cosell,
            outcome == WON,
            (outcome == OPEN) & (c["resp"] == ACCEPT) & cosell,
        ],
        [0.40, 0.02, 0.06],
        default=0.0,
    )
    has_reg = rng.random(n) < p_reg
    filed = np.where(
        outcome == WON,
        c["t_close"] + rng.integers(DAY, 12 * DAY, size=n),
        c["t_resp"] + rng.integers(10 * DAY, 60 * DAY, size=n),
    )
    c["t_reg"] = np.where(has_reg, filed, NEVER)
    # Only won deals can be approved; open ones wait for review or for the partner's action.
    c["reg_final"] = np.where(
        outcome == WON,
        rng.choice(5, size=n, p=[0.12, 0.08, 0.10, 0.10, 0.60]),
        rng.choice([REVIEW_PENDING, 1], size=n),
    )
    decided = has_reg & (c["reg_final"] != REVIEW_PENDING)
    c["t_regf"] = np.where(decided, filed + rng.integers(2 * DAY, 30 * DAY, size=n), NEVER)
    c["reg_value"] = np.where(c["value_rev"] >= 0, c["value_rev"], c.pop("usd_estimate"))


def _plan_microsoft_copies(rng: np.random.Generator, p: Columns) -> Columns:
    """Microsoft's copies (same engagementId): one per outbound deal (a few get a second one,
    a re-invitation), and a few of Microsoft-sent inbound co-sell deals."""
    outbound = np.flatnonzero(p["kind"] == COSELL_OUT)
    second = outbound[rng.random(outbound.size) < 0.03]
    inbound = np.flatnonzero((p["kind"] == COSELL_IN) & (p["inviter"] == INVITED_BY_MSFT))
    inbound = inbound[rng.random(inbound.size) < 0.05]
    parent = np.concatenate([outbound, second, inbound])
    m = parent.size
    is_second = np.zeros(m, dtype=bool)
    is_second[outbound.size : outbound.size + second.size] = True
    of_outbound = np.arange(m) < outbound.size + second.size

    # Outbound: Microsoft gets the invitation seconds after the partner creates the deal (a
    # re-invitation days later) and accepts, declines or never answers it. Inbound: Microsoft's
    # seller created the deal shortly before sharing it, so it is accepted from the start.
    born = p["created"][parent]
    created = np.where(
        of_outbound,
        born
        + np.where(
            is_second, rng.integers(2 * DAY, 20 * DAY, size=m), rng.integers(5, 120, size=m)
        ),
        np.maximum(born - rng.integers(60, HOUR, size=m), 0),
    )
    u = rng.random(m)
    p_accept, p_decline = np.where(is_second, 0.5, 0.6), np.where(is_second, 0.2, 0.15)
    resp = np.where(
        of_outbound,
        np.select([u < p_accept, u < p_accept + p_decline], [ACCEPT, DECLINE], default=NO_RESPONSE),
        ACCEPT,
    )
    latency = _mixture(rng, m, MSFT_RESPONSE_LATENCY)
    t_resp = np.select(
        [~of_outbound, resp != NO_RESPONSE], [created, created + latency], default=NEVER
    )

    # The copy mostly follows the partner's win or loss; sometimes Microsoft marks a deal won
    # without ever accepting it (its acceptedDateTime stays null).
    partner_outcome = np.where(is_second, OPEN, p["outcome"][parent])
    u = rng.random(m)
    follows = np.where(
        of_outbound,
        np.select(
            [
                (resp == ACCEPT) & (partner_outcome == WON),
                (resp == ACCEPT) & (partner_outcome == LOST),
                (resp == NO_RESPONSE) & (partner_outcome == WON),
            ],
            [u < 0.9, u < 0.7, u < 0.3],
            default=False,
        ),
        partner_outcome != OPEN,
    )
    outcome = np.where(follows, partner_outcome, OPEN)
    t_close = np.where(
        follows,
        np.maximum(
            p["t_close"][parent] + rng.integers(0, 5 * DAY, size=m),
            np.where(resp == ACCEPT, t_resp + HOUR, 0),
        ),
        NEVER,
    )

    c: Columns = {key: values[parent] for key, values in p.items()}
    c.update(
        created=created,
        kind=np.where(of_outbound, MSFT_OF_OUTBOUND, MSFT_OF_INBOUND),
        owner=np.full(m, MSFT_OWNER),
        direction=np.where(of_outbound, INCOMING, OUTGOING),
        inviter=np.where(of_outbound, p["owner"][parent], NOT_INVITED),
        rtype=np.full(m, SHARED),
        program=np.full(m, NO_PROGRAM),
        cta=np.full(m, -1),
        resp=resp,
        t_resp=t_resp,
        pending=of_outbound,
        has_expiry=np.zeros(m, dtype=bool),
        outcome=outcome,
        t_close=t_close,
        won_null=np.zeros(m, dtype=bool),
        t_rev=np.full(m, NEVER),
        value_rev=p["value"][parent],
        country_late=np.zeros(m, dtype=bool),
        t_reg=np.full(m, NEVER),
        t_regf=np.full(m, NEVER),
        closing_rev=p["closing_plan"][parent],
    )
    c["id_hi"], c["id_lo"] = guid_halves(rng, m)
    return c


def _mixture(
    rng: np.random.Generator, n: int, parts: tuple[tuple[float, int, int], ...]
) -> np.ndarray:
    weights = np.array([w for w, _, _ in parts])
    part = rng.choice(len(parts), size=n, p=weights / weights.sum())
    low = np.array([lo for _, lo, _ in parts])[part]
    high = np.array([hi for _, _, hi in parts])[part]
    return low + (rng.random(n) * (high - low)).astype(np.int64)


def _exactly_some(
    rng: np.random.Generator, durations: np.ndarray, exact: tuple[int, ...]
) -> np.ndarray:
    """Replace a small share of durations by exact bucket bounds."""
    n = durations.size
    return np.where(
        rng.random(n) < EXACT_SHARE, np.array(exact)[rng.integers(0, len(exact), size=n)], durations
    )


def _amount(usd: np.ndarray, currency: np.ndarray) -> np.ndarray:
    units = np.array([UNITS_PER_USD[code] for code in CURRENCIES])[currency]
    step = np.array([AMOUNT_STEP[code] for code in CURRENCIES])[currency]
    return np.maximum(step, np.round(usd * units / step) * step).astype(np.int64)
