"""Tests of the synthetic landing-zone generator.

Every file is checked by a small contract checker written here from raw-contract.md with plain
json/csv, independent of the generator's code: the generator must not be able to agree with
itself about a mistake.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from synthetic.generator import generate

START = date(2025, 12, 1)
DAY = timedelta(days=1)
EXPIRY = timedelta(days=14)

STATUS_SUBSTATUS = {"New": {"Pending", "Received"}, "Active": {"Accepted"},
                    "Closed": {"Won", "Lost", "Declined", "Expired"}}
REFERRAL_ENUMS = {
    "status": set(STATUS_SUBSTATUS),
    "substatus": set().union(*STATUS_SUBSTATUS.values()),
    "type": {"Independent", "Shared"},
    "qualification": {"None", "Direct", "MarketingQualified", "SalesQualified"},
    "direction": {"Incoming", "Outgoing"},
}
REGISTRATION_STATUSES = {"ReviewPending", "ActionRequired", "Passed", "Failed", "Approved"}
SOLUTION_ENUMS = {"publishStatus": {"Live", "Draft", "Delisted"},
                  "coSellStatus": {"InMarket", "CoSellReady", "AzureIpCoSellIncentive"}}
SOLUTION_TYPES = {"IP", "Service", "ManagedService", "Device"}
TRAFFIC_HEADER = ["date", "organizationId", "offerId", "pageViews", "ctaClicks"]
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
QRP_PROGRAMS = {"ContactRequest", "DigitalSalesOpportunity"}


# --- independent contract checker -----------------------------------------------------------

def parse_instant(value: object) -> datetime:
    """An ISO-8601 instant as aware UTC; naive reads as UTC. Raises ValueError otherwise."""
    if not isinstance(value, str) or not ISO_INSTANT.fullmatch(value):
        raise ValueError(value)
    instant = datetime.fromisoformat(value)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + DAY


def referral_violations(line: str, snapshot: date) -> set[str]:
    """Names of the contract rules a referral line breaks (empty when it is good)."""
    try:
        record = json.loads(line)
    except ValueError:
        return {"invalid_json"}
    if not isinstance(record, dict):
        return {"not_an_object"}
    problems: set[str] = set()
    for field in ("id", "organizationId", "createdDateTime", "updatedDateTime", *REFERRAL_ENUMS):
        if record.get(field) is None:
            problems.add("missing_required_field")
        elif not isinstance(record[field], str):
            problems.add("wrong_type")
        elif field in REFERRAL_ENUMS and record[field] not in REFERRAL_ENUMS[field]:
            problems.add("enum_outside_list")
    if record.get("substatus") not in STATUS_SUBSTATUS.get(record.get("status"), {None}):
        if not problems & {"missing_required_field", "enum_outside_list", "wrong_type"}:
            problems.add("status_substatus_mismatch")

    details = record.get("details") if isinstance(record.get("details"), dict) else {}
    registrations = record.get("registrations") or []
    happened = {key: record.get(key) for key in ("createdDateTime", "updatedDateTime",
                                                 "acceptedDateTime", "closedDateTime")}
    plans = [record.get("expirationDateTime"), details.get("closingDateTime")]
    for registration in registrations:
        if registration.get("status") not in REGISTRATION_STATUSES:
            problems.add("enum_outside_list")
        history = registration.get("statusHistory") or {}
        happened[f"approved {registration.get('id')}"] = history.get("approvedDateTime")
        plans += [registration.get("registrationDateTime"), *history.values()]
    instants = {}
    for key, value in happened.items():
        if value is None or not isinstance(value, str):
            continue
        try:
            instants[key] = parse_instant(value)
        except ValueError:
            problems.add("unparseable_timestamp")
            continue
        if instants[key] >= end_of(snapshot):
            problems.add("future_timestamp")
    for value in plans:
        if value is not None:
            try:
                parse_instant(value)
            except ValueError:
                problems.add("unparseable_timestamp")
    created = instants.get("createdDateTime")
    for key in ("acceptedDateTime", "closedDateTime"):
        if created and key in instants and instants[key] < created:
            problems.add("before_created")

    value, currency = details.get("dealValue"), details.get("currency")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.add("negative_deal_value")
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
            problems.add("deal_value_without_currency")
    return problems


def solution_violations(line: str, snapshot: date) -> set[str]:
    try:
        record = json.loads(line)
    except ValueError:
        return {"invalid_json"}
    if not isinstance(record, dict):
        return {"not_an_object"}
    problems: set[str] = set()
    for field in ("id", "organizationId", "updatedDateTime", *SOLUTION_ENUMS):
        if record.get(field) is None:
            problems.add("missing_required_field")
        elif not isinstance(record[field], str):
            problems.add("wrong_type")
        elif field in SOLUTION_ENUMS and record[field] not in SOLUTION_ENUMS[field]:
            problems.add("enum_outside_list")
    if record.get("solutionType") is not None and record["solutionType"] not in SOLUTION_TYPES:
        problems.add("enum_outside_list")
    if isinstance(record.get("updatedDateTime"), str):
        try:
            if parse_instant(record["updatedDateTime"]) >= end_of(snapshot):
                problems.add("future_timestamp")
        except ValueError:
            problems.add("unparseable_timestamp")
    return problems


def traffic_violations(line: str, snapshot: date) -> set[str]:
    fields = next(csv.reader([line]))
    if len(fields) != len(TRAFFIC_HEADER):
        return {"bad_csv"}
    row = dict(zip(TRAFFIC_HEADER, fields, strict=True))
    problems: set[str] = set()
    try:
        if date.fromisoformat(row["date"]) > snapshot:
            problems.add("future_timestamp")
    except ValueError:
        problems.add("unparseable_timestamp")
    for field in ("pageViews", "ctaClicks"):
        if not re.fullmatch(r"-?\d+", row[field]):
            problems.add("non_integer_count")
        elif int(row[field]) < 0:
            problems.add("negative_count")
    if not row["organizationId"] or not row["offerId"]:
        problems.add("missing_required_field")
    return problems


CHECKERS = {"referrals": referral_violations, "solutions": solution_violations,
            "marketplace_traffic": traffic_violations}


# --- reading a landing zone -----------------------------------------------------------------

def read_text(path: Path) -> str:
    return (gzip.decompress(path.read_bytes()) if path.suffix == ".gz"
            else path.read_bytes()).decode("utf-8")


def snapshot_date(path: Path) -> date:
    return date.fromisoformat(path.name.split(".")[0])


def landed_files(root: Path, source: str) -> list[Path]:
    return sorted((root / source).iterdir(), key=snapshot_date)


def data_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, text) of every record line; a CSV header is not a record."""
    lines = read_text(path).splitlines()
    first = 2 if path.suffix == ".csv" else 1
    return [(n, text) for n, text in enumerate(lines[first - 1:], start=first) if text.strip()]


def manifest(root: Path) -> dict:
    return json.loads((root / "generation_report.json").read_text())


def bad_locations(root: Path) -> dict[tuple[str, int], str]:
    return {(b["file"], b["line"]): b["rule"] for b in manifest(root)["bad_records"]}


def referral_versions(root: Path) -> list[tuple[date, dict]]:
    """Good referral records in snapshot order, each with its file's snapshot date."""
    skip = bad_locations(root)
    return [(snapshot_date(path), json.loads(text))
            for path in landed_files(root, "referrals")
            for n, text in data_lines(path)
            if (f"referrals/{path.name}", n) not in skip]


def current_states(versions: list[tuple[date, dict]]) -> dict[str, dict]:
    return {record["id"]: record for _, record in versions}


def category(record: dict) -> str:
    """raw-contract.md's category rules, first match wins."""
    inviter = ((record.get("inviteContext") or {}).get("invitedBy") or {}).get("organizationId")
    if record["direction"] == "Outgoing":
        return "cosell_outbound"
    if record["type"] == "Independent" and record["qualification"] == "Direct":
        return "marketplace_lead"
    if (record["type"] == "Independent" and inviter == "msft"
            and record["qualification"] in {"MarketingQualified", "SalesQualified"}):
        return "qualified_lead"
    return "cosell_inbound"


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """Moderate size, a little over a year of weekly snapshots."""
    root = tmp_path_factory.mktemp("landing")
    generate(root, organizations=3, referrals=2_000, start=START, days=420, seed=7)
    return root


@pytest.fixture(scope="module")
def landing_with_bad(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    generate(root, organizations=2, referrals=400, start=START, days=150, seed=11,
             bad_records=40)
    return root


def small(root: Path, **overrides) -> dict:
    arguments = dict(organizations=2, referrals=300, start=START, days=120, snapshot_every=7,
                     seed=3, bad_records=5) | overrides
    return generate(root, **arguments).to_dict()


# --- tests ----------------------------------------------------------------------------------

def test_same_arguments_give_identical_bytes_and_another_seed_differs(tmp_path):
    small(tmp_path / "a")
    small(tmp_path / "b")
    small(tmp_path / "c", seed=4)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    first, other = tree(tmp_path / "a"), tree(tmp_path / "c")
    assert any(first[name] != other.get(name) for name in first)


def test_gzip_output_decompresses_to_the_plain_output(tmp_path):
    small(tmp_path / "plain")
    small(tmp_path / "gz", gzip=True)
    for source in ("referrals", "solutions"):
        plain = landed_files(tmp_path / "plain", source)
        packed = landed_files(tmp_path / "gz", source)
        assert [p.name + ".gz" for p in plain] == [p.name for p in packed]
        assert all(p.name.endswith(".jsonl.gz") for p in packed)
        for a, b in zip(plain, packed, strict=True):
            assert a.read_bytes() == gzip.decompress(b.read_bytes())
    assert tree(tmp_path / "plain" / "marketplace_traffic") == tree(
        tmp_path / "gz" / "marketplace_traffic")


def test_layout_dates_and_summary(tmp_path):
    summary = small(tmp_path, days=30, snapshot_every=7, bad_records=0)
    expected = [START + timedelta(days=d) for d in (0, 7, 14, 21, 28)]
    assert [snapshot_date(p) for p in landed_files(tmp_path, "referrals")] == expected
    assert [snapshot_date(p) for p in landed_files(tmp_path, "marketplace_traffic")] == expected
    solution_dates = [snapshot_date(p) for p in landed_files(tmp_path, "solutions")]
    assert solution_dates[0] == START and set(solution_dates) <= set(expected)
    assert {p.name for p in tmp_path.iterdir()} == {
        "referrals", "solutions", "marketplace_traffic", "generation_report.json"}
    files = [p for s in ("referrals", "solutions", "marketplace_traffic")
             for p in landed_files(tmp_path, s)]
    assert summary["as_of_date"] == "2025-12-29"
    assert summary["files_written"] == len(files)
    assert summary["referral_records"] == sum(
        len(data_lines(p)) for p in landed_files(tmp_path, "referrals"))
    assert summary["traffic_rows"] == sum(
        len(data_lines(p)) for p in landed_files(tmp_path, "marketplace_traffic"))
    assert manifest(tmp_path)["parameters"]["days"] == 30


def test_every_record_conforms_to_the_contract(landing):
    assert manifest(landing)["bad_records"] == []
    for source, check in CHECKERS.items():
        for path in landed_files(landing, source):
            lines = data_lines(path)
            assert lines, f"{path} is empty (an empty file is a failed file)"
            for n, text in lines:
                assert check(text, snapshot_date(path)) == set(), f"{path}:{n}: {text}"
    for path in landed_files(landing, "marketplace_traffic"):
        assert read_text(path).splitlines()[0] == ",".join(TRAFFIC_HEADER)


def test_microsoft_copies_pair_with_partner_deals(landing):
    current = current_states(referral_versions(landing))
    partners = {r["engagementId"]: r for r in current.values() if r["organizationId"] != "msft"}
    copies = [r for r in current.values() if r["organizationId"] == "msft"]
    outbound_copies = [r for r in copies if r["direction"] == "Incoming"]
    assert outbound_copies and all(
        category(partners[r["engagementId"]]) == "cosell_outbound" for r in outbound_copies)
    # Inbound deals' copies exist too (they must count nowhere).
    assert any(category(partners[r["engagementId"]]) == "cosell_inbound" for r in copies)
    substatuses = Counter(r["substatus"] for r in outbound_copies)
    assert {"Pending", "Accepted", "Declined", "Won"} <= set(substatuses)
    assert any(r["substatus"] == "Won" and r["acceptedDateTime"] is None
               for r in outbound_copies)
    per_engagement = Counter(r["engagementId"] for r in outbound_copies)
    assert max(per_engagement.values()) >= 2  # some deals are re-sent to Microsoft
    for partner in partners.values():
        if category(partner) == "cosell_outbound":
            assert partner["acceptedDateTime"] == partner["createdDateTime"]


def test_inbound_referrals_are_answered_within_14_days(landing):
    latencies = Counter()
    for snapshot, r in referral_versions(landing):
        if r["organizationId"] == "msft" or r["direction"] != "Incoming":
            continue
        created = parse_instant(r["createdDateTime"])
        deadline = created + EXPIRY
        assert parse_instant(r["expirationDateTime"] or r["createdDateTime"]) <= deadline
        if r["status"] == "New":
            assert end_of(snapshot) <= deadline, r["id"]
            assert parse_instant(r["expirationDateTime"]) == deadline
        elif r["substatus"] == "Expired":
            assert parse_instant(r["closedDateTime"]) == deadline
            assert parse_instant(r["expirationDateTime"]) == deadline
            assert r["acceptedDateTime"] is None
        elif r["substatus"] == "Declined":
            assert parse_instant(r["closedDateTime"]) - created < EXPIRY
        else:
            latency = parse_instant(r["acceptedDateTime"]) - created
            assert timedelta(0) < latency < EXPIRY, r["id"]
            latencies[min(b for b in (1, 3, 7, 14) if latency < timedelta(days=b))] += 1
    assert set(latencies) == {1, 3, 7, 14}


def test_first_snapshot_is_full_and_later_ones_incremental(landing):
    files = landed_files(landing, "referrals")
    reemits = {r["file"]: set(r["ids"]) for r in manifest(landing)["reemitted_referrals"]}
    assert reemits, "some snapshots repeat unchanged referrals"
    previous: dict[str, str] = {}  # id -> its line in the last snapshot it appeared in
    first_end = end_of(snapshot_date(files[0]))
    for k, path in enumerate(files):
        lines = [text for _, text in data_lines(path)]
        records = [json.loads(text) for text in lines]
        assert len({r["id"] for r in records}) == len(records)
        repeated = set()
        for text, r in zip(lines, records, strict=True):
            created, updated = parse_instant(r["createdDateTime"]), parse_instant(
                r["updatedDateTime"])
            if k == 0:
                assert created < first_end
            elif r["id"] not in previous:  # new since the previous snapshot
                assert created >= end_of(snapshot_date(files[k - 1])), r["id"]
            elif text == previous[r["id"]]:
                repeated.add(r["id"])
            else:  # changed since the previous snapshot, and its version is newer
                assert updated >= end_of(snapshot_date(files[k - 1])), r["id"]
                assert updated > parse_instant(json.loads(previous[r["id"]])["updatedDateTime"])
            previous[r["id"]] = text
        assert repeated == reemits.get(f"referrals/{path.name}", set()), path.name
    # Everything created by the end of the first snapshot date is in the full extract.
    in_first = {json.loads(t)["id"] for _, t in data_lines(files[0])}
    everything = referral_versions(landing)
    assert {r["id"] for _, r in everything
            if parse_instant(r["createdDateTime"]) < first_end} == in_first


def test_referral_mix_is_realistic(landing):
    current = current_states(referral_versions(landing))
    partner = [r for r in current.values() if r["organizationId"] != "msft"]
    categories = Counter(category(r) for r in partner)
    assert set(categories) == {"cosell_outbound", "cosell_inbound", "marketplace_lead",
                               "qualified_lead"}
    programs = Counter(r["referralProgram"] for r in partner)
    assert QRP_PROGRAMS < set(programs) and len(set(programs) - QRP_PROGRAMS - {None}) >= 1
    qualified = [r for r in partner if category(r) == "qualified_lead"]
    assert 0.25 <= sum(r["referralProgram"] in QRP_PROGRAMS for r in qualified) / len(qualified)
    countries = Counter((r.get("customerProfile") or {}).get("address", {}).get("country")
                        for r in partner)
    assert {"US", "GB", "DE", "NL", "FR", "IN", "JP", "AU", "CA", "BR", None} <= set(countries)
    assert any("customerProfile" not in r for r in partner)
    currencies = Counter(r["details"]["currency"] for r in partner if r["details"]["dealValue"])
    assert currencies.most_common(1)[0][0] == "USD"
    assert {"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "INR"} <= set(currencies)
    assert any(r["details"]["dealValue"] is None for r in partner)
    assert any("+" in r["createdDateTime"] or r["createdDateTime"][-6] == "-"
               for r in current.values())

    qrp = [r for r in partner if r["referralProgram"] in QRP_PROGRAMS]
    received = len(qrp)
    accepted = sum(r["acceptedDateTime"] is not None for r in qrp) / received
    expired = sum(r["substatus"] == "Expired" for r in qrp) / received
    closed = Counter(r["substatus"] for r in qrp if r["status"] == "Closed")
    won = closed["Won"] / sum(closed.values())
    assert 0.60 <= accepted <= 0.95 and 0.01 <= expired <= 0.10 and 0.03 <= won <= 0.20


def win_time_buckets(root: Path) -> Counter:
    """Partner wins per win-time bucket (upper bound in days), dated as the marts do."""
    versions = referral_versions(root)
    won_at: dict[str, datetime] = {}
    for _, r in versions:  # a null closedDateTime dates the win by its first Won version
        if r["substatus"] == "Won" and r["id"] not in won_at:
            won_at[r["id"]] = parse_instant(r["closedDateTime"] or r["updatedDateTime"])
    buckets = Counter()
    for r in current_states(versions).values():
        if r["substatus"] == "Won" and r["organizationId"] != "msft":
            days = (won_at[r["id"]] - parse_instant(r["createdDateTime"])) / DAY
            buckets[min(b for b in (30, 60, 90, 180, 365, 10**6) if days < b)] += 1
    return buckets


def test_wins_and_registrations(landing):
    current = current_states(referral_versions(landing))
    assert any(r["substatus"] == "Won" and r["closedDateTime"] is None
               and r["organizationId"] != "msft" for r in current.values())
    assert {30, 60, 90, 180, 365} <= set(win_time_buckets(landing))
    registrations = [(r, g) for r in current.values() for g in r["registrations"]]
    statuses = Counter(g["status"] for _, g in registrations)
    assert {"Approved", "ReviewPending"} <= set(statuses) and len(statuses) >= 4
    for _, g in registrations:
        approved = g["statusHistory"].get("approvedDateTime")
        assert (approved is not None) == (g["status"] == "Approved")
        assert g["contract"]["value"] >= 0 and len(g["contract"]["currency"]) == 3
    assert sum(category(r).startswith("cosell") for r, _ in registrations) > 0.8 * len(
        registrations)


def test_wins_after_a_year_occur_when_the_window_allows(tmp_path):
    generate(tmp_path, organizations=2, referrals=1_500, start=START, days=800,
             snapshot_every=30, seed=5)
    assert win_time_buckets(tmp_path)[10**6] > 0


def test_solutions_full_then_changes(landing):
    files = landed_files(landing, "solutions")
    first = [json.loads(t) for _, t in data_lines(files[0])]
    latest = {s["id"]: s for s in first}
    assert all(re.fullmatch(r"SOL-\d{7}-[A-Z]{3}", s) for s in latest)
    assert len(files) > 1
    for path in files[1:]:
        for _, text in data_lines(path):
            s = json.loads(text)
            assert s["id"] in latest and s != latest[s["id"]]
            latest[s["id"]] = s
    per_org = defaultdict(list)
    for s in latest.values():
        per_org[s["organizationId"]].append(s)
    assert len(per_org) == 3
    for solutions in per_org.values():
        assert 3 <= len(solutions) <= 15
        assert {s["coSellStatus"] for s in solutions if s["publishStatus"] == "Live"} == \
            SOLUTION_ENUMS["coSellStatus"]
    offers = {s["offerId"] for s in latest.values()}
    for path in landed_files(landing, "marketplace_traffic"):
        assert {row["offerId"] for row in csv.DictReader(read_text(path).splitlines())} <= offers


def test_traffic_covers_each_interval_and_restates_some_rows(landing):
    files = landed_files(landing, "marketplace_traffic")
    restated = {(r["file"], r["date"], r["organizationId"], r["offerId"])
                for r in manifest(landing)["restated_traffic_rows"]}
    assert restated
    seen: dict[tuple[str, str, str], tuple[str, str]] = {}
    previous_end = snapshot_date(files[0]) - timedelta(days=7)
    for path in files:
        rows = list(csv.DictReader(read_text(path).splitlines()))
        name = f"marketplace_traffic/{path.name}"
        days = {row["date"] for row in rows if (name, row["date"], row["organizationId"],
                                                row["offerId"]) not in restated}
        expected = {(previous_end + timedelta(days=d)).isoformat()
                    for d in range(1, (snapshot_date(path) - previous_end).days + 1)}
        assert days == expected, path.name
        for row in rows:
            key = (row["date"], row["organizationId"], row["offerId"])
            counts = (row["pageViews"], row["ctaClicks"])
            if (name, *key) in restated:
                assert key in seen and seen[key] != counts  # a correction of an earlier row
            else:
                assert key not in seen
            assert int(counts[1]) <= int(counts[0])
            seen[key] = counts
        previous_end = snapshot_date(path)
    daily = Counter()
    for (day, org, _), (views, _) in seen.items():
        daily[day, org] += int(views)
    assert 10 <= sorted(daily.values())[len(daily) // 2] <= 5_000


def test_bad_records_are_listed_where_they_are_and_break_their_rule(landing_with_bad):
    root = landing_with_bad
    listed = manifest(root)["bad_records"]
    assert len(listed) == 40
    assert len({b["rule"] for b in listed}) >= 14
    assert {b["source"] for b in listed} == set(CHECKERS)
    bad = bad_locations(root)
    assert len(bad) == 40
    for source, check in CHECKERS.items():
        for path in landed_files(root, source):
            for n, text in data_lines(path):
                problems = check(text, snapshot_date(path))
                rule = bad.pop((f"{source}/{path.name}", n), None)
                if rule is None:
                    assert problems == set(), f"{path.name}:{n}: {text}"
                else:
                    assert rule in problems, f"{path.name}:{n} should break {rule}: {text}"
    assert bad == {}


def test_refuses_to_overwrite_foreign_landed_files(tmp_path):
    (tmp_path / "referrals").mkdir()
    (tmp_path / "referrals" / "2026-01-05.jsonl").write_text("{}\n")
    with pytest.raises(FileExistsError):
        small(tmp_path)
    with pytest.raises(ValueError):
        small(tmp_path / "other", referrals=0)


def test_rerun_with_fewer_days_leaves_no_stale_snapshots(tmp_path):
    small(tmp_path, days=60)
    small(tmp_path, days=20)
    assert max(snapshot_date(p) for p in landed_files(tmp_path, "referrals")) == START + \
        timedelta(days=14)
