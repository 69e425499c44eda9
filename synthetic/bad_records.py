"""Deliberately bad records (raw-contract.md section 4), injected as extra lines.

Each rule breaks exactly one thing in an otherwise valid record, so the reason the pipeline
gives for quarantining it is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import orjson

from synthetic.organizations import Organization
from synthetic.timeline import guid, guid_halves, stream
from synthetic.traffic import TrafficRow


@dataclass(frozen=True)
class BadRule:
    source: str  # referrals | solutions | marketplace_traffic
    rule: str
    field: str | None  # None when the record as a whole is bad


# Cycled in this order; sources are interleaved so that a handful covers all three.
BAD_RULES = (
    BadRule("referrals", "invalid_json", None),
    BadRule("marketplace_traffic", "negative_count", "pageViews"),
    BadRule("solutions", "enum_outside_list", "solutionType"),
    BadRule("referrals", "status_substatus_mismatch", "substatus"),
    BadRule("marketplace_traffic", "bad_csv", None),
    BadRule("referrals", "missing_required_field", "createdDateTime"),
    BadRule("referrals", "not_an_object", None),
    BadRule("marketplace_traffic", "non_integer_count", "ctaClicks"),
    BadRule("referrals", "wrong_type", "id"),
    BadRule("referrals", "enum_outside_list", "direction"),
    BadRule("solutions", "missing_required_field", "publishStatus"),
    BadRule("referrals", "unparseable_timestamp", "updatedDateTime"),
    BadRule("marketplace_traffic", "future_timestamp", "date"),
    BadRule("referrals", "future_timestamp", "createdDateTime"),
    BadRule("referrals", "before_created", "acceptedDateTime"),
    BadRule("referrals", "negative_deal_value", "details.dealValue"),
    BadRule("referrals", "before_created", "closedDateTime"),
    BadRule("referrals", "deal_value_without_currency", "details.currency"),
)


@dataclass(frozen=True)
class BadRecord:
    rule: BadRule
    snapshot: int  # snapshot index of the file it goes into
    position: int  # inserted before this 0-based good record (== count: after the last)


def plan_bad_records(
    count: int, seed: int, files: dict[str, list[int]], good_records: dict[tuple[str, int], int]
) -> list[BadRecord]:
    """Spread `count` bad records over the files of their rule's source, at random lines."""
    rng = stream(seed, "bad-records")
    planned = []
    for i in range(count):
        rule = BAD_RULES[i % len(BAD_RULES)]
        snapshot = int(rng.choice(files[rule.source]))
        position = int(rng.integers(0, good_records[rule.source, snapshot] + 1))
        planned.append(BadRecord(rule, snapshot, position))
    return planned


def bad_referral_line(
    rule: BadRule, snapshot_date: date, org: Organization, rng: np.random.Generator
) -> bytes:
    """A fresh lead received two days before the snapshot date, broken by `rule`."""
    created = datetime.combine(snapshot_date, time(9, 30), tzinfo=UTC) - timedelta(days=2)
    hi, lo = guid_halves(rng, 2)
    record = {
        "id": guid(int(hi[0]), int(lo[0])),
        "engagementId": guid(int(hi[1]), int(lo[1])),
        "name": "Fabrikam Inc – Azure migration",
        "organizationId": org.id,
        "organizationName": org.name,
        "createdDateTime": _iso(created),
        "updatedDateTime": _iso(created),
        "expirationDateTime": _iso(created + timedelta(14)),
        "acceptedDateTime": None,
        "closedDateTime": None,
        "status": "New",
        "substatus": "Received",
        "statusReason": None,
        "type": "Independent",
        "qualification": "Direct",
        "direction": "Incoming",
        "referralProgram": None,
        "callToAction": "Contact me",
        "target": [],
        "customerProfile": {
            "name": "Fabrikam Inc",
            "size": "51to500employees",
            "address": {"city": "Seattle", "country": "US"},
        },
        "details": {
            "dealValue": 12_000,
            "currency": "USD",
            "closingDateTime": _iso(created.replace(hour=0, minute=0) + timedelta(60)),
        },
        "inviteContext": None,
        "registrations": [],
    }
    match (rule.rule, rule.field):
        case ("invalid_json", _):
            return orjson.dumps(record)[:-40] + b"\n"  # a truncated line
        case ("not_an_object", _):
            return orjson.dumps([record], option=orjson.OPT_APPEND_NEWLINE)
        case ("missing_required_field", field):
            del record[field]
        case ("wrong_type", field):
            record[field] = int(rng.integers(10**8, 10**9))
        case ("enum_outside_list", field):
            record[field] = "Inbound"
        case ("status_substatus_mismatch", _):
            record["substatus"] = "Won"
        case ("unparseable_timestamp", field):
            record[field] = f"{created:%m/%d/%Y %H:%M}"  # the bulk-export format, not ISO
        case ("future_timestamp", field):
            record[field] = _iso(created + timedelta(days=4))  # 2 days after the snapshot
        case ("before_created", "acceptedDateTime"):
            record.update(
                status="Active",
                substatus="Accepted",
                expirationDateTime=None,
                acceptedDateTime=_iso(created - timedelta(hours=5)),
            )
        case ("before_created", "closedDateTime"):
            record.update(
                status="Closed",
                substatus="Declined",
                expirationDateTime=None,
                statusReason="Duplicate",
                closedDateTime=_iso(created - timedelta(hours=2)),
            )
        case ("negative_deal_value", _):
            record["details"]["dealValue"] = -2_500
        case ("deal_value_without_currency", _):
            record["details"]["currency"] = None
        case _:
            raise ValueError(f"no referral mutation for {rule}")
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def bad_solution_line(rule: BadRule, template: dict) -> bytes:
    """A copy of a good solution record of the same file, broken by `rule`."""
    record = dict(template)
    match rule.rule:
        case "enum_outside_list":
            record[rule.field] = "SaaS"
        case "missing_required_field":
            del record[rule.field]
        case _:
            raise ValueError(f"no solution mutation for {rule}")
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def bad_traffic_line(rule: BadRule, template: TrafficRow, snapshot_date: date) -> bytes:
    """A copy of a good row of the same file, broken by `rule`."""
    row = template
    match rule.rule:
        case "negative_count":
            line = _csv(
                row.date, row.organization_id, row.offer_id, -row.page_views - 1, row.cta_clicks
            )
        case "non_integer_count":
            line = _csv(
                row.date, row.organization_id, row.offer_id, row.page_views, f"{row.cta_clicks}.5"
            )
        case "future_timestamp":
            line = _csv(
                (snapshot_date + timedelta(days=2)).isoformat(),
                row.organization_id,
                row.offer_id,
                row.page_views,
                row.cta_clicks,
            )
        case "bad_csv":  # a field short
            line = _csv(row.date, row.organization_id, row.offer_id, row.page_views)
        case _:
            raise ValueError(f"no traffic mutation for {rule}")
    return (line + "\n").encode()


def _csv(*fields: object) -> str:
    return ",".join(str(f) for f in fields)


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
