"""The small hand-built landing zone of the end-to-end tests (test_end_to_end.py: the marts'
numbers, worked out by hand in the comments; test_incremental_builds.py: incremental builds on a
copy of its warehouse). As-of date 2026-04-06."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from tests.conftest import inbound, solution, write_csv, write_jsonl

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
D = dt.date


def fx(currency: str, month: str) -> float:
    with open(SEEDS / "fx_rates.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["currency"] == currency and row["month"] == month:
                return float(row["rate_to_usd"])
    raise KeyError((currency, month))


R1_ACCEPTED = inbound(  # cosell_inbound, accepted after 23 h → '< 1 day'
    "R1", createdDateTime="2026-02-10T10:00:00Z", acceptedDateTime="2026-02-11T09:00:00Z",
    updatedDateTime="2026-02-11T09:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 1000, "currency": "USD"},
)
R2_OUTBOUND = inbound(  # cosell_outbound, accepted at creation
    "R2", engagementId="E2", direction="Outgoing", inviteContext=None,
    createdDateTime="2026-02-15T12:00:00Z", acceptedDateTime="2026-02-15T12:00:00Z",
    updatedDateTime="2026-02-15T12:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 2000, "currency": "EUR"},
)
M2_MSFT_COPY = inbound(  # Microsoft's copy of R2, accepted by Microsoft on 2026-02-20
    "M2", engagementId="E2", organizationId="msft", inviteContext=None,
    createdDateTime="2026-02-15T12:00:00Z", acceptedDateTime="2026-02-20T08:00:00Z",
    updatedDateTime="2026-02-20T08:00:00Z", status="Active", substatus="Accepted",
)
R3_MARKETPLACE = inbound(  # marketplace_lead (Independent + Direct), unanswered
    "R3", type="Independent", inviteContext=None, createdDateTime="2026-02-20T00:00:00Z",
    updatedDateTime="2026-02-20T00:00:00Z", status="New", substatus="Received",
)
R4_QRP = inbound(  # qualified_lead in QRP ContactRequest, accepted after exactly 72 h → '3-7 days'
    "R4", type="Independent", qualification="SalesQualified", referralProgram="ContactRequest",
    customerProfile={"address": {"country": "NL"}},
    createdDateTime="2026-02-01T00:00:00Z", acceptedDateTime="2026-02-04T00:00:00Z",
    updatedDateTime="2026-02-04T00:00:00Z", status="Active", substatus="Accepted",
    details={"dealValue": 500, "currency": "GBP"},
)

# --- snapshot 2 (2026-04-06, incremental) ------------------------------------------------------
R1_WON = R1_ACCEPTED | dict(  # won 2026-04-01 after 50 days → '30-60 days'; IP co-sell approved
    status="Closed", substatus="Won", closedDateTime="2026-04-01T10:00:00Z",
    updatedDateTime="2026-04-02T12:00:00Z",
    registrations=[{"id": "G1", "status": "Approved", "contract": {"value": 300, "currency": "USD"},
                    "statusHistory": {"approvedDateTime": "2026-04-02T12:00:00Z"}}],
)
R3_EXPIRED = R3_MARKETPLACE | dict(
    status="Closed", substatus="Expired", closedDateTime="2026-03-06T00:00:00Z",
    updatedDateTime="2026-03-06T00:00:00Z",
)
R4_WON = R4_QRP | dict(  # Won without closedDateTime: dated by this version's update, 61 days
    status="Closed", substatus="Won", updatedDateTime="2026-04-03T00:00:00Z",
)
R5_NEW = inbound(
    "R5", createdDateTime="2026-04-05T00:00:00Z", updatedDateTime="2026-04-05T00:00:00Z",
    status="New", substatus="Received",
)


def land(raw: Path) -> None:
    write_jsonl(raw / "referrals/2026-03-02.jsonl", [R1_ACCEPTED, R2_OUTBOUND, M2_MSFT_COPY, R3_MARKETPLACE, R4_QRP])
    write_jsonl(raw / "referrals/2026-04-06.jsonl", [R1_WON, R3_EXPIRED, R4_WON, R5_NEW, inbound("BAD", status="Bogus")])
    write_jsonl(raw / "solutions/2026-03-02.jsonl", [
        solution(id="S1", coSellStatus="InMarket"),
        solution(id="S2", coSellStatus="CoSellReady"),
        solution(id="S3", coSellStatus="AzureIpCoSellIncentive"),
        solution(id="S4", coSellStatus="CoSellReady", publishStatus="Draft"),
    ])
    write_jsonl(raw / "solutions/2026-04-06.jsonl", [
        solution(id="S1", coSellStatus="CoSellReady", updatedDateTime="2026-04-01T00:00:00Z"),
    ])
    write_csv(raw / "marketplace_traffic/2026-03-02.csv", ["2026-03-01,org-a,offer-1,100,5", "2026-03-02,org-a,offer-1,50,2"])
    # restates 2026-03-02 (50,2 → 60,3)
    write_csv(raw / "marketplace_traffic/2026-04-06.csv", ["2026-03-02,org-a,offer-1,60,3", "2026-04-05,org-a,offer-1,10,1"])


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()
