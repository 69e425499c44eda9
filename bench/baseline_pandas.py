"""The benchmark's baseline: the dashboard marts in plain pandas, the way an analyst would.

    python bench/baseline_pandas.py --raw-dir RAW --out DIR [--seeds dbt_project/seeds]

Reads the landing zone itself (`pd.read_json(lines=True)` per referral / solution file,
`pd.read_csv` per traffic file), computes every widget mart of the pipeline (all but
`mart_widget_refresh`, which is refresh bookkeeping, not a computation) and writes each as
`<out>/<mart>.parquet`. No DuckDB, no project code: only pandas/numpy, the landed files and the
two reference CSVs (`fx_rates`, `qrp_kpi_targets`, the pipeline's dbt seeds, i.e. data).

It reproduces the pipeline's semantics exactly (bench/compare.py asserts equality), including
the choices the spec left open; see bench/README.md "Semantics the baseline matches".
It does NOT validate records (no quarantine): the benchmark's landing zone has no bad records,
so validation would change nothing but cost time — that favours the baseline.

With REFERRAL_INSIGHTS_STAGE_METRICS set, appends one JSON line per phase (baseline_read,
baseline_compute, baseline_write) in the pipeline's stage-metrics format.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*convert_dates.*")

DATE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(jsonl|jsonl\.gz|csv)$")
PROGRAMS = {
    "ContactRequest": "Contact request",
    "DigitalSalesOpportunity": "Digital Sales Opportunity",
}
CO_SELL_STATUSES = {
    "InMarket": "In market",
    "CoSellReady": "Co-sell ready",
    "AzureIpCoSellIncentive": "Azure IP co-sell incentive",
}
ACCEPTANCE_BUCKETS = [
    ("< 1 day", 0),
    ("1-3 days", 1),
    ("3-7 days", 3),
    ("7-14 days", 7),
    ("14+ days", 14),
]
WIN_BUCKETS = [
    ("0-30 days", 0),
    ("30-60 days", 30),
    ("60-90 days", 60),
    ("90-180 days", 90),
    ("180-365 days", 180),
    ("365+ days", 365),
]
COUNT_COLUMNS = [
    "referrals_received",
    "referrals_accepted",
    "referrals_declined",
    "referrals_expired",
    "referrals_won",
    "referrals_lost",
    "closed_within_60d",
    "closed_within_180d",
]
KPIS = [  # (kpi, numerator, denominator columns summed)
    ("accept_rate", "referrals_accepted", ["referrals_received"]),
    ("expiry_rate", "referrals_expired", ["referrals_received"]),
    ("close_rate_60d", "closed_within_60d", ["referrals_received"]),
    ("close_rate_180d", "closed_within_180d", ["referrals_received"]),
    (
        "win_rate",
        "referrals_won",
        ["referrals_declined", "referrals_expired", "referrals_won", "referrals_lost"],
    ),
]
OVERVIEW_METRICS = [
    "referrals_total",
    "referrals_accepted",
    "referrals_won",
    "cosell_inbound",
    "cosell_outbound",
    "cosell_accepted",
    "cosell_accepted_by_microsoft",
    "cosell_won",
    "cosell_win_rate_pct",
    "leads_page_views",
    "leads_cta_clicks",
    "leads_received",
    "leads_accepted",
    "leads_won",
    "leads_win_rate_pct",
    "revenue_won_usd",
    "revenue_ip_cosell_approved_usd",
]
TIMESTAMP_COLUMNS = ["created_at", "updated_at", "accepted_at", "closed_at"]


# --- measurement (same JSON-line format as orchestration/stage_metrics.py) ----------------------


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def phase(name: str):
    try:  # reset the high-water mark so each phase reports its own peak
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    wall, cpu = time.perf_counter(), _cpu()
    yield
    record = {
        "stage": name,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": _cpu() - cpu,
        "peak_rss_mb": _peak_rss_mb(),
    }
    target = os.environ.get("REFERRAL_INSIGHTS_STAGE_METRICS")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    print(
        f"  {name}: {record['wall_s']:.1f}s wall, {record['peak_rss_mb']:.0f} MB peak",
        file=sys.stderr,
    )


# --- reading -----------------------------------------------------------------------------------


def snapshot_files(raw_dir: Path, source: str, ext: str) -> list[tuple[pd.Timestamp, Path]]:
    files = []
    for path in sorted((raw_dir / source).glob(f"*.{ext}*")):  # .jsonl.gz too
        match = DATE_NAME.match(path.name)
        if match:
            files.append((pd.Timestamp(match.group(1)), path))
    return files


def utc(values: pd.Series) -> pd.Series:
    """ISO-8601 text (Z, explicit offset or naive = UTC) -> naive UTC datetime64."""
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_localize(None)


def nested(column: pd.Series, *keys: str) -> pd.Series:
    """column["a"]["b"]... per row; NaN where a level is missing or null."""
    for key in keys:
        if column.dtype != object:  # every value null: read_json gave a float/str column
            return pd.Series(np.nan, index=column.index, dtype=object)
        column = column.str.get(key)
    return column


def read_referrals(raw_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every referral record of every snapshot (one row per line) and the registrations on them."""
    frames, registrations = [], []
    for snapshot_date, path in snapshot_files(raw_dir, "referrals", "jsonl"):
        raw = pd.read_json(path, lines=True, dtype=False)
        source_file = f"referrals/{path.name}"
        df = pd.DataFrame(
            {
                "referral_id": raw["id"],
                "engagement_id": raw["engagementId"],
                "organization_id": raw["organizationId"],
                "created_at": raw["createdDateTime"],
                "updated_at": raw["updatedDateTime"],
                "accepted_at": raw["acceptedDateTime"],
                "closed_at": raw["closedDateTime"],
                "status": raw["status"],
                "substatus": raw["substatus"],
                "referral_type": raw["type"],
                "qualification": raw["qualification"],
                "direction": raw["direction"],
                "referral_program": raw.get("referralProgram"),
                "invited_by": nested(raw["inviteContext"], "invitedBy", "organizationId")
                if "inviteContext" in raw
                else None,
                "country": nested(raw["customerProfile"], "address", "country")
                if "customerProfile" in raw
                else None,
                "deal_value": pd.to_numeric(nested(raw["details"], "dealValue"))
                if "details" in raw
                else np.nan,
                "deal_currency": nested(raw["details"], "currency") if "details" in raw else None,
            }
        )
        df["snapshot_date"] = snapshot_date
        df["source_file"] = source_file
        df["line_number"] = np.arange(1, len(df) + 1)
        frames.append(df)
        if "registrations" in raw:
            regs = raw[["registrations"]].assign(line_number=df["line_number"])
            regs = regs[regs["registrations"].str.len() > 0].explode("registrations")
            regs = regs[regs["registrations"].map(lambda r: isinstance(r, dict))]
            if len(regs):
                registrations.append(
                    pd.DataFrame(
                        {
                            "source_file": source_file,
                            "line_number": regs["line_number"].to_numpy(),
                            "status": regs["registrations"].str.get("status").to_numpy(),
                            "value": pd.to_numeric(
                                nested(regs["registrations"], "contract", "value")
                            ).to_numpy(),
                            "currency": nested(
                                regs["registrations"], "contract", "currency"
                            ).to_numpy(),
                            "approved_at": nested(
                                regs["registrations"], "statusHistory", "approvedDateTime"
                            ).to_numpy(),
                        }
                    )
                )
    referrals = pd.concat(frames, ignore_index=True)
    for column in TIMESTAMP_COLUMNS:
        referrals[column] = utc(referrals[column])
    # a missing (or empty) customer country is "ZZ"
    referrals["country"] = referrals["country"].replace("", np.nan).fillna("ZZ")
    regs = (
        pd.concat(registrations, ignore_index=True)
        if registrations
        else pd.DataFrame(
            columns=["source_file", "line_number", "status", "value", "currency", "approved_at"]
        )
    )
    regs["approved_at"] = utc(regs["approved_at"])
    return referrals, regs


def read_solutions(raw_dir: Path) -> pd.DataFrame:
    frames = []
    for snapshot_date, path in snapshot_files(raw_dir, "solutions", "jsonl"):
        raw = pd.read_json(path, lines=True, dtype=False)
        df = raw[
            ["id", "organizationId", "publishStatus", "coSellStatus", "updatedDateTime"]
        ].copy()
        df["snapshot_date"] = snapshot_date
        df["source_file"] = f"solutions/{path.name}"
        df["line_number"] = np.arange(1, len(df) + 1)
        frames.append(df)
    solutions = pd.concat(frames, ignore_index=True)
    solutions["updatedDateTime"] = utc(solutions["updatedDateTime"])
    return solutions


def read_traffic(raw_dir: Path) -> pd.DataFrame:
    frames = []
    for snapshot_date, path in snapshot_files(raw_dir, "marketplace_traffic", "csv"):
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
        df.columns = [c.strip().lstrip("\ufeff") for c in df.columns]
        df = df[["date", "organizationId", "offerId", "pageViews", "ctaClicks"]].copy()
        df["snapshot_date"] = snapshot_date
        df["source_file"] = f"marketplace_traffic/{path.name}"
        df["line_number"] = np.arange(2, len(df) + 2)  # line 1 is the header
        frames.append(df)
    traffic = pd.concat(frames, ignore_index=True)
    traffic["date"] = pd.to_datetime(traffic["date"].str.strip(), format="%Y-%m-%d")
    for column in ("organizationId", "offerId"):
        traffic[column] = traffic[column].str.strip()
    for column in ("pageViews", "ctaClicks"):
        traffic[column] = traffic[column].str.strip().astype("int64")
    return traffic


# --- helpers -----------------------------------------------------------------------------------


def round_half_away(x: pd.Series) -> pd.Series:
    """C's round(): nearest integer, halves away from zero (exact, unlike floor(x + 0.5))."""
    whole = np.trunc(x)
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0.0)


def pct(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """100 * n / d rounded to 2 decimals half away from zero, NaN (NULL) when d is 0."""
    d = denominator.astype("float64").where(denominator != 0)
    return round_half_away(numerator.astype("float64") * 10000 / d) / 100


def month_start(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.to_timestamp()


def bucket(duration: pd.Series, buckets: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Label and 1-based order of the last bucket whose lower bound (days) the duration reaches."""
    order = np.ones(len(duration), dtype="int64")
    for i, (_, lower_days) in enumerate(buckets[1:], start=2):
        order[(duration >= pd.Timedelta(days=lower_days)).to_numpy()] = i
    labels = np.array([label for label, _ in buckets], dtype=object)[order - 1]
    return labels, order


# --- referral state ----------------------------------------------------------------------------


def referral_versions(observations: pd.DataFrame) -> pd.DataFrame:
    """One row per version (referral_id, updated_at), from its first observation, ordered, with
    its first-seen date, whether it is current, and until when (snapshot) it was the known state."""
    observations = observations.sort_values(
        ["referral_id", "updated_at", "snapshot_date", "source_file", "line_number"], kind="stable"
    )
    versions = observations.drop_duplicates(["referral_id", "updated_at"], keep="first")
    versions = versions.rename(columns={"snapshot_date": "first_seen"}).reset_index(drop=True)
    by_referral = versions.groupby("referral_id", sort=False)
    versions["is_current"] = ~versions["referral_id"].duplicated(keep="last")
    # known_until = the smallest first-seen date of any later version of the same referral
    reverse_min = versions.iloc[::-1].groupby("referral_id", sort=False)["first_seen"].cummin()
    versions["known_until"] = (
        reverse_min.iloc[::-1].groupby(versions["referral_id"], sort=False).shift(-1)
    )
    versions["is_known_state"] = versions["known_until"].isna() | (
        versions["known_until"] > versions["first_seen"]
    )
    del by_referral
    return versions


def current_referrals(versions: pd.DataFrame) -> pd.DataFrame:
    current = versions[versions["is_current"]].copy()
    first_won = versions[versions["substatus"] == "Won"].groupby("referral_id")["updated_at"].min()
    current["won_at"] = current["closed_at"].fillna(current["referral_id"].map(first_won))
    current.loc[current["substatus"] != "Won", "won_at"] = pd.NaT
    return current


def categorize(current: pd.DataFrame) -> pd.DataFrame:
    partner = current[current["organization_id"] != "msft"].copy()
    independent = partner["referral_type"] == "Independent"
    partner["referral_category"] = np.select(
        [
            partner["direction"] == "Outgoing",
            independent & (partner["qualification"] == "Direct"),
            independent
            & partner["qualification"].isin(["MarketingQualified", "SalesQualified"])
            & (partner["invited_by"] == "msft"),
        ],
        ["cosell_outbound", "marketplace_lead", "qualified_lead"],
        default="cosell_inbound",
    )
    partner["referral_kind"] = np.where(
        partner["referral_category"].isin(["marketplace_lead", "qualified_lead"]), "lead", "co-sell"
    )
    partner["qrp_program"] = partner["referral_program"].map(PROGRAMS)
    return partner


def microsoft_acceptance(
    versions: pd.DataFrame, current: pd.DataFrame, partner: pd.DataFrame
) -> pd.Series:
    """Per outbound partner referral id: when Microsoft first accepted its deal."""
    msft_versions = versions[versions["organization_id"] == "msft"]
    first = (
        msft_versions[msft_versions["substatus"].isin(["Accepted", "Won"])]
        .groupby("referral_id")["updated_at"]
        .min()
    )
    copies = current[
        (current["organization_id"] == "msft") & current["referral_id"].isin(first.index)
    ]
    copies = copies.assign(
        accepted_by_microsoft_at=copies["accepted_at"].fillna(copies["referral_id"].map(first))
    )
    copies = copies[copies["engagement_id"].notna()]  # pandas would match NaN keys to each other
    outbound = partner[
        (partner["referral_category"] == "cosell_outbound") & partner["engagement_id"].notna()
    ]
    joined = outbound[["referral_id", "engagement_id"]].merge(
        copies[["engagement_id", "accepted_by_microsoft_at"]], on="engagement_id"
    )
    return joined.groupby("referral_id")["accepted_by_microsoft_at"].min()


def referral_events(partner: pd.DataFrame, accepted_by_microsoft: pd.Series) -> pd.DataFrame:
    base = partner[["organization_id", "referral_id", "referral_category", "referral_kind"]]
    parts = []
    for event_type, at in (
        ("created", partner["created_at"]),
        ("accepted", partner["accepted_at"]),
        ("won", partner["won_at"]),
        ("accepted_by_microsoft", partner["referral_id"].map(accepted_by_microsoft)),
    ):
        mask = at.notna()
        parts.append(base[mask].assign(event_type=event_type, event_date=at[mask].dt.floor("D")))
    return pd.concat(parts, ignore_index=True)


# --- marts -------------------------------------------------------------------------------------


def mart_referrals_daily(events: pd.DataFrame) -> pd.DataFrame:
    ev = events[events["event_type"].isin(["created", "accepted", "won"])]
    counts = pd.crosstab(
        [ev["organization_id"], ev["event_date"], ev["referral_category"]], ev["event_type"]
    ).reindex(columns=["created", "accepted", "won"], fill_value=0)
    counts.columns = ["referrals_created", "referrals_accepted", "referrals_won"]
    counts = counts.reset_index().rename(columns={"event_date": "date"})
    return counts


def mart_cosell_daily(events: pd.DataFrame) -> pd.DataFrame:
    ev = events[events["referral_kind"] == "co-sell"]
    et, cat = ev["event_type"], ev["referral_category"]
    measure = pd.Series(
        np.select(
            [
                (et == "created") & (cat == "cosell_inbound"),
                (et == "created") & (cat == "cosell_outbound"),
                (et == "accepted") & (cat == "cosell_inbound"),
                et == "accepted_by_microsoft",
                et == "won",
            ],
            ["inbound", "outbound", "accepted", "accepted_by_microsoft", "won"],
            default="",
        ),
        index=ev.index,
    )
    ev = ev[measure != ""]
    counts = pd.crosstab([ev["organization_id"], ev["event_date"]], measure[measure != ""]).reindex(
        columns=["inbound", "outbound", "accepted", "accepted_by_microsoft", "won"], fill_value=0
    )
    counts.columns.name = None
    return counts.reset_index().rename(columns={"event_date": "date"})


def mart_leads_daily(events: pd.DataFrame, traffic: pd.DataFrame) -> pd.DataFrame:
    restated = traffic.sort_values(["snapshot_date", "source_file", "line_number"], kind="stable")
    restated = restated.drop_duplicates(["date", "organizationId", "offerId"], keep="last")
    restated = restated[restated["organizationId"] != "msft"]
    views = (
        restated.groupby(["organizationId", "date"])[["pageViews", "ctaClicks"]]
        .sum()
        .rename(columns={"pageViews": "page_views", "ctaClicks": "cta_clicks"})
    )
    views.index.names = ["organization_id", "date"]
    ev = events[
        (events["referral_kind"] == "lead")
        & events["event_type"].isin(["created", "accepted", "won"])
    ]
    leads = pd.crosstab([ev["organization_id"], ev["event_date"]], ev["event_type"]).reindex(
        columns=["created", "accepted", "won"], fill_value=0
    )
    leads.columns = ["leads_received", "leads_accepted", "leads_won"]
    leads.index.names = ["organization_id", "date"]
    daily = views.join(leads, how="outer").fillna(0).astype("int64")
    daily = daily[daily.sum(axis=1) > 0]
    return daily.reset_index()


def mart_referral_distribution(partner: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    dist = (
        partner.groupby(["organization_id", "referral_category", "status", "substatus"])
        .size()
        .rename("referral_count")
        .reset_index()
    )
    dist.insert(1, "as_of_date", as_of)
    return dist


def qrp_counts(states: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """KPI counts per keys + country, plus the country = 'ALL' rollup per keys."""
    s = states
    closed_after = s["closed_at"] - s["created_at"]
    is_closed = s["status"] == "Closed"
    flags = pd.DataFrame(
        {
            "referrals_received": 1,
            "referrals_accepted": s["accepted_at"].notna(),
            "referrals_declined": s["substatus"] == "Declined",
            "referrals_expired": s["substatus"] == "Expired",
            "referrals_won": s["substatus"] == "Won",
            "referrals_lost": s["substatus"] == "Lost",
            "closed_within_60d": is_closed & (closed_after <= pd.Timedelta(days=60)),
            "closed_within_180d": is_closed & (closed_after <= pd.Timedelta(days=180)),
        },
        index=s.index,
    ).astype("int64")
    flags[keys + ["country"]] = s[keys + ["country"]]
    per_country = flags.groupby(keys + ["country"], sort=False)[COUNT_COLUMNS].sum().reset_index()
    rollup = per_country.groupby(keys, sort=False)[COUNT_COLUMNS].sum().reset_index()
    rollup["country"] = "ALL"
    return pd.concat([per_country, rollup], ignore_index=True)


def qrp_report(counts: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    report = counts.copy()
    for kpi, numerator, denominator in KPIS:
        rate = pct(report[numerator], report[denominator].sum(axis=1))
        report[f"{kpi}_pct"] = rate
        target = targets[targets["kpi"] == kpi].set_index("program")
        goal = report["program"].map(target["goal_met_threshold"])
        approaching = report["program"].map(target["approaching_threshold"])
        direction = report["program"].map(target["direction"])
        higher = direction == "higher_is_better"
        status = np.where(
            higher,
            np.where(
                rate >= goal,
                "Goal met",
                np.where(rate >= approaching, "Approaching goal", "Below goal"),
            ),
            np.where(
                rate < goal,
                "Goal met",
                np.where(rate < approaching, "Approaching goal", "Below goal"),
            ),
        )
        status = pd.Series(status, index=report.index, dtype=object)
        status[rate.isna() | direction.isna()] = None
        report[f"{kpi}_status"] = status
    report["goals_met"] = sum(
        (report[f"{kpi}_status"] == "Goal met").astype("int64") for kpi, _, _ in KPIS
    )
    return report


def report_window(as_of: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    last = as_of.to_period("M").to_timestamp()
    return last - pd.DateOffset(months=9), last


def mart_qrp_monthly_kpis(
    partner: pd.DataFrame, as_of: pd.Timestamp, targets: pd.DataFrame
) -> pd.DataFrame:
    qrp = partner[partner["qrp_program"].notna()].rename(columns={"qrp_program": "program"})
    qrp = qrp.assign(month=month_start(qrp["created_at"]))
    first, last = report_window(as_of)
    qrp = qrp[(qrp["month"] >= first) & (qrp["month"] <= last)]
    return qrp_report(qrp_counts(qrp, ["organization_id", "program", "month"]), targets)


def mart_qrp_kpi_history(
    versions: pd.DataFrame, snapshot_dates: list[pd.Timestamp], targets: pd.DataFrame
) -> pd.DataFrame:
    """The QRP report as of every snapshot date D, from each referral's state known at D."""
    qrp = versions[
        (versions["organization_id"] != "msft")
        & versions["is_known_state"]
        & versions["referral_program"].isin(list(PROGRAMS))
    ]
    qrp = qrp.assign(
        program=qrp["referral_program"].map(PROGRAMS), month=month_start(qrp["created_at"])
    )
    reports = []
    for as_of in snapshot_dates:
        first, last = report_window(as_of)
        known = (
            (qrp["first_seen"] <= as_of)
            & (qrp["known_until"].isna() | (as_of < qrp["known_until"]))
            & (qrp["month"] >= first)
            & (qrp["month"] <= last)
        )
        counts = qrp_counts(qrp[known], ["organization_id", "program", "month"])
        counts["as_of_date"] = as_of
        reports.append(counts)
    return qrp_report(pd.concat(reports, ignore_index=True), targets)


def mart_acceptance_time_distribution(partner: pd.DataFrame) -> pd.DataFrame:
    accepted = partner[
        partner["referral_category"].isin(["cosell_inbound", "marketplace_lead", "qualified_lead"])
        & partner["accepted_at"].notna()
    ]
    labels, order = bucket(accepted["accepted_at"] - accepted["created_at"], ACCEPTANCE_BUCKETS)
    df = pd.DataFrame(
        {
            "organization_id": accepted["organization_id"],
            "date": accepted["accepted_at"].dt.floor("D"),
            "referral_kind": accepted["referral_kind"],
            "bucket": labels,
            "bucket_order": order,
        }
    )
    return df.groupby(list(df.columns)).size().rename("referral_count").reset_index()


def mart_win_time_distribution(partner: pd.DataFrame) -> pd.DataFrame:
    won = partner[partner["won_at"].notna()]
    labels, order = bucket(won["won_at"] - won["created_at"], WIN_BUCKETS)
    df = pd.DataFrame(
        {
            "organization_id": won["organization_id"],
            "date": won["won_at"].dt.floor("D"),
            "referral_kind": won["referral_kind"],
            "bucket": labels,
            "bucket_order": order,
        }
    )
    return df.groupby(list(df.columns)).size().rename("referral_count").reset_index()


def mart_revenue_daily(
    partner: pd.DataFrame, registrations: pd.DataFrame, fx: pd.DataFrame
) -> pd.DataFrame:
    won = partner[partner["won_at"].notna()]
    won_events = pd.DataFrame(
        {
            "organization_id": won["organization_id"],
            "referral_kind": won["referral_kind"],
            "event_type": "won",
            "event_at": won["won_at"],
            "currency": won["deal_currency"],
            "value": won["deal_value"],
        }
    )
    # registrations of the exact record kept as each co-sell referral's current version
    cosell = partner[partner["referral_kind"] == "co-sell"]
    regs = registrations[
        (registrations["status"] == "Approved") & registrations["approved_at"].notna()
    ]
    approved = cosell[["organization_id", "referral_kind", "source_file", "line_number"]].merge(
        regs, on=["source_file", "line_number"]
    )
    approved_events = pd.DataFrame(
        {
            "organization_id": approved["organization_id"],
            "referral_kind": approved["referral_kind"],
            "event_type": "ip_cosell_approved",
            "event_at": approved["approved_at"],
            "currency": approved["currency"],
            "value": approved["value"],
        }
    )
    ev = pd.concat([won_events, approved_events], ignore_index=True)
    ev["date"] = ev["event_at"].dt.floor("D")
    ev["month"] = month_start(ev["event_at"])
    ev["currency"] = ev["currency"].str.upper()
    rates = fx.set_index(["currency", "month"])["rate_to_usd"]
    key = pd.MultiIndex.from_arrays([ev["currency"], ev["month"]])
    ev["value_usd"] = ev["value"].to_numpy() * rates.reindex(key).to_numpy()
    ev["won"] = (ev["event_type"] == "won").astype("int64")
    ev["won_usd"] = ev["value_usd"].where(ev["event_type"] == "won")
    ev["ip_usd"] = ev["value_usd"].where(ev["event_type"] == "ip_cosell_approved")
    daily = (
        ev.groupby(["organization_id", "date", "referral_kind"])
        .agg(
            won_count=("won", "sum"),
            won_value_usd=("won_usd", "sum"),
            ip_cosell_approved_value_usd=("ip_usd", "sum"),
        )
        .reset_index()
    )
    keep = (
        (daily["won_count"] > 0)
        | (daily["won_value_usd"] != 0)
        | (daily["ip_cosell_approved_value_usd"] != 0)
    )
    return daily[keep]


def organizations(
    observations: pd.DataFrame, solutions: pd.DataFrame, traffic: pd.DataFrame
) -> list[str]:
    ids = set(observations["organization_id"].unique()) | set(solutions["organizationId"].unique())
    ids |= set(traffic["organizationId"].unique())
    ids.discard("msft")
    return sorted(ids)


def mart_solutions_outlook(
    solutions: pd.DataFrame, orgs: list[str], as_of: pd.Timestamp
) -> pd.DataFrame:
    latest = solutions.sort_values(
        ["updatedDateTime", "snapshot_date", "source_file", "line_number"], kind="stable"
    ).drop_duplicates("id", keep="last")
    live = latest[latest["publishStatus"] == "Live"]
    counts = live.groupby(["organizationId", "coSellStatus"]).size()
    rows = [
        (org, as_of, label, int(counts.get((org, status), 0)))
        for org in orgs
        for status, label in CO_SELL_STATUSES.items()
    ]
    return pd.DataFrame(
        rows, columns=["organization_id", "as_of_date", "co_sell_status", "solution_count"]
    )


def mart_overview_summary(
    orgs: list[str],
    as_of: pd.Timestamp,
    referrals_daily: pd.DataFrame,
    cosell_daily: pd.DataFrame,
    leads_daily: pd.DataFrame,
    revenue_daily: pd.DataFrame,
) -> pd.DataFrame:
    sources = [
        (
            referrals_daily,
            {
                "referrals_created": "referrals_total",
                "referrals_accepted": "referrals_accepted",
                "referrals_won": "referrals_won",
            },
        ),
        (
            cosell_daily,
            {
                "inbound": "cosell_inbound",
                "outbound": "cosell_outbound",
                "accepted": "cosell_accepted",
                "accepted_by_microsoft": "cosell_accepted_by_microsoft",
                "won": "cosell_won",
            },
        ),
        (
            leads_daily,
            {
                "page_views": "leads_page_views",
                "cta_clicks": "leads_cta_clicks",
                "leads_received": "leads_received",
                "leads_accepted": "leads_accepted",
                "leads_won": "leads_won",
            },
        ),
        (
            revenue_daily,
            {
                "won_value_usd": "revenue_won_usd",
                "ip_cosell_approved_value_usd": "revenue_ip_cosell_approved_usd",
            },
        ),
    ]
    rows = []
    for months in (1, 3, 6, 12):
        start = as_of - pd.DateOffset(months=months) + pd.Timedelta(days=1)
        totals = pd.DataFrame(index=pd.Index(orgs, name="organization_id"))
        for daily, columns in sources:
            in_range = daily[(daily["date"] >= start) & (daily["date"] <= as_of)]
            sums = in_range.groupby("organization_id")[list(columns)].sum().rename(columns=columns)
            totals = totals.join(sums)
        totals = totals.fillna(0).astype("float64")
        totals["cosell_win_rate_pct"] = pct(
            totals["cosell_won"], totals["cosell_accepted"] + totals["cosell_outbound"]
        )
        totals["leads_win_rate_pct"] = pct(totals["leads_won"], totals["leads_accepted"])
        long = (
            totals[OVERVIEW_METRICS]
            .reset_index()
            .melt(id_vars="organization_id", var_name="metric", value_name="value")
        )
        long["as_of_date"] = as_of
        long["time_range"] = f"{months}M"
        long["range_start"] = start
        long["range_end"] = as_of
        rows.append(long)
    out = pd.concat(rows, ignore_index=True)
    return out[
        [
            "organization_id",
            "as_of_date",
            "time_range",
            "range_start",
            "range_end",
            "metric",
            "value",
        ]
    ]


# --- main --------------------------------------------------------------------------------------


def compute(raw_dir: Path, seeds: Path) -> dict[str, pd.DataFrame]:
    with phase("baseline_read"):
        observations, registrations = read_referrals(raw_dir)
        solutions = read_solutions(raw_dir)
        traffic = read_traffic(raw_dir)
        fx = pd.read_csv(seeds / "fx_rates.csv", parse_dates=["month"])
        targets = pd.read_csv(seeds / "qrp_kpi_targets.csv")
    with phase("baseline_compute"):
        snapshot_dates = sorted(observations["snapshot_date"].unique())
        as_of = pd.Timestamp(snapshot_dates[-1])
        orgs = organizations(observations, solutions, traffic)
        versions = referral_versions(observations)
        del observations
        current = current_referrals(versions)
        partner = categorize(current)
        events = referral_events(partner, microsoft_acceptance(versions, current, partner))
        marts = {
            "mart_solutions_outlook": mart_solutions_outlook(solutions, orgs, as_of),
            "mart_referrals_daily": mart_referrals_daily(events),
            "mart_cosell_daily": mart_cosell_daily(events),
            "mart_leads_daily": mart_leads_daily(events, traffic),
            "mart_referral_distribution": mart_referral_distribution(partner, as_of),
            "mart_qrp_monthly_kpis": mart_qrp_monthly_kpis(partner, as_of, targets),
            "mart_qrp_kpi_history": mart_qrp_kpi_history(
                versions, [pd.Timestamp(d) for d in snapshot_dates], targets
            ),
            "mart_acceptance_time_distribution": mart_acceptance_time_distribution(partner),
            "mart_win_time_distribution": mart_win_time_distribution(partner),
            "mart_revenue_daily": mart_revenue_daily(partner, registrations, fx),
        }
        marts["mart_overview_summary"] = mart_overview_summary(
            orgs,
            as_of,
            marts["mart_referrals_daily"],
            marts["mart_cosell_daily"],
            marts["mart_leads_daily"],
            marts["mart_revenue_daily"],
        )
    return marts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for <mart>.parquet")
    parser.add_argument(
        "--seeds",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "dbt_project" / "seeds",
        help="folder with fx_rates.csv and qrp_kpi_targets.csv",
    )
    args = parser.parse_args(argv)
    marts = compute(args.raw_dir, args.seeds)
    with phase("baseline_write"):
        args.out.mkdir(parents=True, exist_ok=True)
        for name, df in marts.items():
            df.reset_index(drop=True).to_parquet(args.out / f"{name}.parquet", index=False)
    print(f"baseline: {len(marts)} marts written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
