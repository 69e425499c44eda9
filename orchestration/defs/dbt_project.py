"""The dbt project handle and its manifest.

The manifest is a build artifact (never committed): it is re-parsed whenever a file of the dbt
project is newer than it, so the UI, the CLI and the tests always load the current models.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration import settings

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR)
# The dbt installed beside this interpreter, whether or not the venv is activated. Where the venv
# has it, `referral-insights-dbt` (orchestration/dbt_cli.py): the same dbt, but on the Spark
# target (issue 7) it keeps the profile's ANSI mode on, which dbt-spark alone would switch off.
_BIN = Path(sys.executable).parent
DBT_EXECUTABLE = str(
    _BIN / "referral-insights-dbt" if (_BIN / "referral-insights-dbt").exists() else _BIN / "dbt"
)

_SOURCE_DIRS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")
_SOURCE_FILES = ("dbt_project.yml", "profiles.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    paths = [project_dir / name for name in _SOURCE_FILES]
    for folder in _SOURCE_DIRS:
        paths += (project_dir / folder).rglob("*") if (project_dir / folder).is_dir() else []
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def ensure_manifest() -> Path:
    """Run `dbt parse` when the manifest is missing or older than the project's files."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(
        dbt_project.project_dir
    ):
        dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
        dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return manifest
