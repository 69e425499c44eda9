"""The landing-zone contract's value lists, in one place: validation checks against them, the
synthetic generator draws from them, the dashboard lays its tables out by them
(docs/landing-zone.md)."""

from __future__ import annotations

# status -> its substatuses; a referral's (status, substatus) must be one of these pairs
STATUS_SUBSTATUS: dict[str, tuple[str, ...]] = {
    "New": ("Pending", "Received"),
    "Active": ("Accepted",),
    "Closed": ("Won", "Lost", "Declined", "Expired"),
}
# every (status, substatus) in the life cycle's order (the distribution widget's rows)
REFERRAL_STATES: tuple[tuple[str, str], ...] = (
    ("New", "Received"),
    ("New", "Pending"),
    ("Active", "Accepted"),
    ("Closed", "Won"),
    ("Closed", "Lost"),
    ("Closed", "Declined"),
    ("Closed", "Expired"),
)
REFERRAL_TYPES = ("Independent", "Shared")
QUALIFICATIONS = ("None", "Direct", "MarketingQualified", "SalesQualified")
DIRECTIONS = ("Incoming", "Outgoing")
# referralProgram values that make a referral a QRP one (any other value: not QRP)
QRP_PROGRAMS = ("ContactRequest", "DigitalSalesOpportunity")
REGISTRATION_STATUSES = ("ReviewPending", "ActionRequired", "Passed", "Failed", "Approved")
SOLUTION_TYPES = ("IP", "Service", "ManagedService", "Device")
PUBLISH_STATUSES = ("Live", "Draft", "Delisted")
CO_SELL_STATUSES = ("InMarket", "CoSellReady", "AzureIpCoSellIncentive")
MICROSOFT_ORGANIZATION_ID = "msft"
# marketplace traffic CSV columns, matched by header name
TRAFFIC_COLUMNS = ("date", "organizationId", "offerId", "pageViews", "ctaClicks")

assert set(REFERRAL_STATES) == {(s, sub) for s, subs in STATUS_SUBSTATUS.items() for sub in subs}
