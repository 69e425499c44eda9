"""The dbt project handle and its manifest.

The manifest is a build artifact (never committed): it is re-parsed whenever a file of the dbt
project is newer than it, so the UI, the CLI and the tests always load the current models.
"""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from orchestration import settings
from orchestration.code_fingerprint import code_fingerprint
from orchestration.dbt_parse_state import DBT_EXECUTABLE

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR)



class LocalDbtCliResource(DbtCliResource):
    """`DbtCliResource` for the dbt Core installed beside this interpreter, without the ~3 s that
    dagster-dbt 0.29 spends before each invocation (measured at 1M referrals, issue 6):

    - it runs `dbt --version` in a subprocess to learn the version: here the executable is this
      environment's dbt (or its wrapper), so the installed dbt-core package says it;
    - it loads the project's macros in-process to hand a dbt adapter to the invocation, which only
      `fetch_row_counts()` / `fetch_column_metadata()` use. We count rows ourselves after dbt
      exits (defs/dbt.py); an invocation without an adapter is dagster-dbt's own Fusion path.
    Both are private hooks of the pinned dagster-dbt; tests/test_definitions.py checks them.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 (dagster-dbt's signature)
        return None


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
        dbt = LocalDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
        dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return manifest


# What the built tables depend on: the models, macros and seeds (not the data tests) and the
# target engine.
_BUILD_INPUTS = (("", "dbt_project.yml"), ("models", "**/*"), ("macros", "**/*"), ("seeds", "**/*"))


def dbt_code_fingerprint(dbt_target: str) -> str:
    """A digest of the dbt code the tables are built from. The incremental models cannot see a
    change of their own SQL: a build with another fingerprint than the last one runs
    `--full-refresh` (defs/dbt.py)."""
    return code_fingerprint(Path(dbt_project.project_dir), _BUILD_INPUTS, dbt_target)
