"""The landing zone: which files are snapshots, of which source and date.

Only `<raw dir>/<source>/<YYYY-MM-DD>.<ext>` files are snapshots. Hidden files (a leading dot,
e.g. an extraction's temporary file) are ignored; anything else in a source folder is skipped
with a warning; symlinks and names that would resolve outside the raw dir are refused,
so ingestion never reads outside it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

# source folder -> accepted file extensions
SOURCE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "referrals": (".jsonl", ".jsonl.gz"),
    "solutions": (".jsonl", ".jsonl.gz"),
    "marketplace_traffic": (".csv",),
}

_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.[a-z.]+)$")


@dataclass(frozen=True)
class LandedFile:
    source: str
    path: Path
    file_name: str  # relative to the raw dir, e.g. "referrals/2026-01-05.jsonl"
    snapshot_date: dt.date
    size: int
    mtime_ns: int

    @property
    def fingerprint(self) -> tuple[int, int]:
        """Cheap change detector: a re-landed file gets a new size or mtime."""
        return (self.size, self.mtime_ns)


@dataclass(frozen=True)
class Landing:
    files: list[LandedFile]
    warnings: list[str]


def snapshot_date_of(name: str, source: str) -> dt.date | None:
    """The snapshot date a file name stands for, or None when it is not a snapshot name."""
    match = _NAME.match(name)
    if not match or match.group(2) not in SOURCE_EXTENSIONS[source]:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def discover(raw_dir: Path) -> Landing:
    """List the snapshot files under `raw_dir`, sorted by (source, date, name)."""
    root = raw_dir.resolve()
    files: list[LandedFile] = []
    warnings: list[str] = []
    if not root.is_dir():
        return Landing([], [f"raw dir {raw_dir} does not exist"])
    for source in SOURCE_EXTENSIONS:
        folder = root / source
        if folder.is_symlink():
            warnings.append(f"{source}/: symlinked folder refused")
            continue
        if not folder.is_dir():
            continue
        # os.scandir: the entry types and stats come with the listing (a weekly landing zone
        # holds hundreds of files and every ingest step lists it)
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden: an extraction's temporary file being written, editor files
            rel = f"{source}/{entry.name}"
            if entry.is_symlink():
                warnings.append(
                    f"{rel}: symlink refused (ingestion reads only files inside the raw dir)"
                )
                continue
            if not entry.is_file(follow_symlinks=False):
                warnings.append(f"{rel}: not a regular file, ignored")
                continue
            # a plain file listed in a folder that is no symlink is inside the raw dir
            snapshot_date = snapshot_date_of(entry.name, source)
            if snapshot_date is None:
                warnings.append(
                    f"{rel}: not a snapshot file name (<YYYY-MM-DD>"
                    f"{'|'.join(SOURCE_EXTENSIONS[source])}), ignored"
                )
                continue
            stat = entry.stat(follow_symlinks=False)
            files.append(
                LandedFile(
                    source, folder / entry.name, rel, snapshot_date, stat.st_size, stat.st_mtime_ns
                )
            )
    return Landing(files, warnings)


# Snapshot dates have no lower bound, but one after tomorrow (UTC) is not a snapshot yet: such a
# file waits (raw-contract.md section 4). Free of Dagster, so a refresh with nothing new never
# imports it.


def latest_snapshot_date(today: dt.date | None = None) -> dt.date:
    """The latest date that is a snapshot today: tomorrow, UTC (raw-contract.md section 4)."""
    return (today or dt.datetime.now(dt.UTC).date()) + dt.timedelta(days=1)


def split_waiting(files: list[LandedFile]) -> tuple[list[LandedFile], list[LandedFile]]:
    """(snapshots, waiting): files dated up to tomorrow UTC, and those dated later."""
    latest = latest_snapshot_date()
    return (
        [f for f in files if f.snapshot_date <= latest],
        [f for f in files if f.snapshot_date > latest],
    )


def partitioned_files(files: list[LandedFile], log) -> list[LandedFile]:
    """Files whose snapshot date is a snapshot today; the waiting ones are logged."""
    kept, waiting = split_waiting(files)
    for f in waiting:
        log.warning(f"{f.file_name}: dated after tomorrow (UTC), waiting until its date comes")
    return kept
