"""Digests of the code a warehouse is built by. A refresh (orchestration/refresh.py) and a dbt
build (orchestration/defs/dbt.py) each record one and compare it with the current code to tell
whether the code changed since."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def code_fingerprint(root: Path, globs: Iterable[tuple[str, str]], dbt_target: str) -> str:
    """sha256 of the dbt target and, in order, of every file matched by each (folder, pattern)
    under `root`: its path relative to `root`, then its bytes. Files under an `uncommitted`
    folder (Great Expectations' scratch space) are left out."""
    digest = hashlib.sha256()
    # the dbt target is part of it (issue 7): switching DuckDB <-> Spark must rebuild
    digest.update(dbt_target.encode())
    for folder, pattern in globs:
        for path in sorted((root / folder).glob(pattern)):
            if path.is_file() and "uncommitted" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()
