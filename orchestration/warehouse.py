"""The warehouse file: creating it, connecting to it, and holding it for one writer at a time.

Every start path goes through here: the CLI refresh (refresh.py) and every run Dagster launches
(the `warehouse` resource, defs/resources.py). Whichever runs first creates the folder; all of
them hold `<warehouse>.refresh.lock` for a whole run, so a CLI refresh and a daemon-launched run
never write the same warehouse at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

# Lock files this process holds, with how many holders: the CLI takes the lock and then runs the
# job in-process, whose `warehouse` resource takes it again. filelock 4 refuses a second FileLock
# on the same path in one process, so re-entry is counted here.
_held: dict[Path, list] = {}
_held_guard = threading.Lock()


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse's refresh lock."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".refresh.lock")


def prepare(warehouse: Path) -> Path:
    """The absolute warehouse path, with its folder created (DuckDB creates the file itself)."""
    warehouse = Path(warehouse).resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return warehouse


@contextmanager
def hold(
    warehouse: Path,
    timeout_s: float,
    on_wait: Callable[[str], None] | None = None,
    wait_log_every_s: float = 60.0,
) -> Iterator[None]:
    """Hold the warehouse's refresh lock. `timeout_s=0` gives up at once; otherwise wait, calling
    `on_wait` with a message now and then, and raise WarehouseBusy after `timeout_s`."""
    path = lock_path(prepare(warehouse))
    with _held_guard:
        entry = _held.get(path)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield
        finally:
            _release(path)
        return
    lock = FileLock(path)
    deadline = time.monotonic() + timeout_s
    wait = 0.0  # the first attempt does not wait: the message is logged as soon as it is busy
    while True:
        try:
            lock.acquire(timeout=wait)
            break
        except Timeout as exc:
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"another refresh of {warehouse} is running (lock {path}); "
                    "try again when it has finished"
                ) from exc
            if on_wait:
                on_wait(f"waiting for another refresh of {warehouse} to finish (lock {path})")
            wait = max(0.0, min(wait_log_every_s, deadline - time.monotonic()))
    with _held_guard:
        _held[path] = [lock, 1]
    try:
        yield
    finally:
        _release(path)


def _release(path: Path) -> None:
    with _held_guard:
        entry = _held[path]
        entry[1] -= 1
        if entry[1] == 0:
            del _held[path]
            entry[0].release()


def is_lock_conflict(exc: BaseException) -> bool:
    """DuckDB's error for a file another process has open for writing ('Could not set lock on
    file ...: Conflicting lock is held'), as opposed to any other I/O error: a missing folder or
    file, no permission, a corrupt file. Only the first is worth waiting for."""
    text = str(exc)
    return isinstance(exc, duckdb.IOException) and (
        "Could not set lock" in text or "Conflicting lock" in text
    )


def connect(
    warehouse: Path,
    config: dict | None = None,
    timeout_s: float = 900.0,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Connect for writing (creating the folder and the file when missing), waiting only while
    another process has the file open (e.g. a dbt process orphaned by a killed refresh finishing
    its last model); any other error is raised at once."""
    warehouse = prepare(warehouse)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return duckdb.connect(str(warehouse), config=config or {})
        except duckdb.IOException as exc:
            if not is_lock_conflict(exc) or time.monotonic() > deadline:
                raise
            (on_wait or log.warning)(f"warehouse is held by another process, waiting: {exc}")
            time.sleep(2)
