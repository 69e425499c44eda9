"""Crash-safe landing of one snapshot file: records stream into a temporary file in the target
folder, which is fsynced and renamed over the final name, so a reader (or a crash) sees either
no file or a whole one. A second run on the same date merges: the day's file is copied into the
temporary file first and the new records are appended (later lines win on ingestion)."""

from __future__ import annotations

import gzip
import os
import re
import shutil
from pathlib import Path

PARTIAL = re.compile(r"^\..+\.(\d+)\.partial$")
GZIP_LEVEL = 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(folder: Path) -> list[str]:
    """Temporary files of extractions that died (e.g. SIGKILL): never landed, safe to delete."""
    removed = []
    for path in folder.glob(".*.partial"):
        match = PARTIAL.match(path.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


class SnapshotWriter:
    """Write `<folder>/<name>` atomically; `header` is a CSV header line (written once)."""

    def __init__(self, folder: Path, name: str, header: bytes | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stale_removed = remove_stale_partials(folder)
        self.final = folder / name
        self.tmp = folder / f".{name}.{os.getpid()}.partial"
        self.compress = name.endswith(".gz")
        self._raw = open(self.tmp, "wb")
        self._out = (
            gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
            if self.compress
            else self._raw
        )
        if header is not None:
            self._out.write(header)
        self.merged = self.final.exists()
        if self.merged:
            self._copy_existing(skip_header=header is not None)

    def _copy_existing(self, skip_header: bool) -> None:
        opener = gzip.open if self.compress else open
        with opener(self.final, "rb") as existing:
            if skip_header:
                existing.readline()
            shutil.copyfileobj(existing, self._out, 1 << 20)

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def commit(self) -> Path:
        if self._out is not self._raw:
            self._out.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.final)
        # the rename itself must survive a power cut too
        dir_fd = os.open(self.final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return self.final

    def abort(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
            self._raw.close()
        finally:
            self.tmp.unlink(missing_ok=True)
