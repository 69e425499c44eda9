"""Land one more, small incremental snapshot: about 1% of the partner referrals changed.

    python bench/incremental.py --raw-dir RAW [--share 0.01] [--snapshot-every 7] [--seed 42]

Finds every partner referral's latest record in the landing zone (one streaming pass over the
files, orjson per line), picks `share` x (number of partner
referrals) of the partner referrals that are still open (status New or Active) — the ones that
can change — and advances each realistically on the new snapshot date D = last referral
snapshot + snapshot_every days, at a seeded time of day:

- New (Received / Pending) -> Active / Accepted, `acceptedDateTime` = the change;
  the expiry deadline is cleared, as the generator does once a referral is answered;
- Active / Accepted -> 60% Closed / Won, 25% Closed / Lost (`closedDateTime` = the change),
  15% stay Accepted with a revised deal value and expected close (a plain update);

`updatedDateTime` = the change. Writes `referrals/<D>.jsonl` with those records, and
`marketplace_traffic/<D>.csv`: the previous traffic file's (organization, offer) rows moved
forward by snapshot_every days with seeded counts. Valid per the raw contract (no timestamp
after D, accepted/closed after created), deterministic by seed. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import random
import sys
from pathlib import Path

import orjson

OPEN_STATUSES = ("New", "Active")


def _dated_files(folder: Path, suffix: str) -> list[tuple[dt.date, Path]]:
    out = []
    for path in folder.glob(f"*{suffix}"):
        try:
            out.append((dt.date.fromisoformat(path.name[: -len(suffix)]), path))
        except ValueError:
            continue
    return sorted(out)


def latest_records(raw_dir: Path) -> tuple[dict[str, tuple[int, int, bool]], list[Path], int]:
    """id -> (file index, line index, open?) of each partner referral's latest record (files
    in date order: the generator's later files carry later versions), the files, and the number
    of partner referrals."""
    files = [p for _, p in _dated_files(raw_dir / "referrals", ".jsonl")]
    latest: dict[str, tuple[int, int, bool]] = {}
    for f, path in enumerate(files):
        with open(path, "rb") as handle:
            for i, line in enumerate(handle):
                if not line.strip():
                    continue
                record = orjson.loads(line)
                if record["organizationId"] == "msft":
                    continue
                latest[record["id"]] = (f, i, record["status"] in OPEN_STATUSES)
    return latest, files, len(latest)


def _iso(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def advance(record: dict, day: dt.date, rng: random.Random) -> dict:
    """The record's next state, changed at a seeded instant on `day` (after its last update)."""
    day_start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    last = max(_parse(record["updatedDateTime"]), _parse(record["createdDateTime"]))
    low = max(day_start, last + dt.timedelta(seconds=1))
    span = int((day_start + dt.timedelta(days=1) - low).total_seconds()) - 1
    if span < 0:
        raise ValueError(f"referral {record['id']} was updated after {day}")
    at = low + dt.timedelta(seconds=rng.randint(0, span))
    record = dict(record)
    record["details"] = dict(record.get("details") or {})
    record["updatedDateTime"] = _iso(at)
    if record["status"] == "New":
        record.update(status="Active", substatus="Accepted", acceptedDateTime=_iso(at))
        record["expirationDateTime"] = None
    elif record["status"] == "Active":
        u = rng.random()
        if u < 0.60:
            record.update(
                status="Closed", substatus="Won", closedDateTime=_iso(at), statusReason=None
            )
        elif u < 0.85:
            record.update(
                status="Closed",
                substatus="Lost",
                closedDateTime=_iso(at),
                statusReason="Lost to competitor",
            )
        else:  # a revision: new estimate and expected close, status unchanged
            value = record["details"].get("dealValue")
            if isinstance(value, (int, float)) and record["details"].get("currency"):
                record["details"]["dealValue"] = (
                    int(round(value * rng.uniform(0.8, 1.3), -2)) or value
                )
            closing = day_start + dt.timedelta(days=rng.randint(14, 120))
            record["details"]["closingDateTime"] = _iso(closing)
    return record


def write_traffic(raw_dir: Path, day: dt.date, every: int, rng: random.Random) -> tuple[Path, int]:
    folder = raw_dir / "marketplace_traffic"
    dated = _dated_files(folder, ".csv")
    if not dated:
        return folder / f"{day.isoformat()}.csv", 0
    _, last_path = dated[-1]
    with open(last_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    shift = dt.timedelta(days=every)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "organizationId", "offerId", "pageViews", "ctaClicks"])
    seen = set()
    for row in rows:
        new_date = dt.date.fromisoformat(row["date"].strip()) + shift
        key = (new_date, row["organizationId"].strip(), row["offerId"].strip())
        if new_date > day or key in seen:  # restatements of the old file are not repeated
            continue
        seen.add(key)
        views = max(0, int(int(row["pageViews"]) * rng.uniform(0.8, 1.25)))
        clicks = min(views, max(0, int(int(row["ctaClicks"]) * rng.uniform(0.7, 1.4))))
        writer.writerow([new_date.isoformat(), key[1], key[2], views, clicks])
    path = folder / f"{day.isoformat()}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, len(seen)


def land_incremental(raw_dir: Path, share: float = 0.01, every: int = 7, seed: int = 42) -> dict:
    latest, files, partner_referrals = latest_records(raw_dir)
    if not files:
        raise SystemExit(f"no referral snapshots under {raw_dir}")
    last_date = dt.date.fromisoformat(files[-1].name[: -len(".jsonl")])
    day = last_date + dt.timedelta(days=every)
    rng = random.Random(f"bench-incremental-{seed}")
    candidates = sorted(i for i, (_, _, is_open) in latest.items() if is_open)
    target = max(1, round(share * partner_referrals))
    chosen = sorted(rng.sample(candidates, min(target, len(candidates))))
    by_file: dict[int, dict[int, str]] = {}
    for referral_id in chosen:
        f, i, _ = latest[referral_id]
        by_file.setdefault(f, {})[i] = referral_id
    records: dict[str, dict] = {}
    for f, wanted in by_file.items():
        with open(files[f], "rb") as handle:
            for i, line in enumerate(handle):
                if i in wanted:
                    records[wanted[i]] = orjson.loads(line)
    out_path = raw_dir / "referrals" / f"{day.isoformat()}.jsonl"
    transitions: dict[str, int] = {}
    with open(out_path, "wb") as out:
        for referral_id in chosen:
            before = records[referral_id]
            after = advance(before, day, rng)
            key = f"{before['substatus']}->{after['substatus']}"
            transitions[key] = transitions.get(key, 0) + 1
            out.write(orjson.dumps(after, option=orjson.OPT_APPEND_NEWLINE))
    traffic_path, traffic_rows = write_traffic(raw_dir, day, every, rng)
    return {
        "snapshot_date": day.isoformat(),
        "referral_file": str(out_path.relative_to(raw_dir)),
        "traffic_file": str(traffic_path.relative_to(raw_dir)),
        "partner_referrals": partner_referrals,
        "open_referrals": len(candidates),
        "changed_referrals": len(chosen),
        "changed_share": round(len(chosen) / partner_referrals, 4),
        "transitions": dict(sorted(transitions.items())),
        "traffic_rows": traffic_rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--snapshot-every", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    summary = land_incremental(args.raw_dir, args.share, args.snapshot_every, args.seed)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
