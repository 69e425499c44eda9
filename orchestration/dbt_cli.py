"""`referral-insights-dbt`: dbt's own command line, with the project's settings as `--vars` and
the profile's Spark ANSI setting honoured.

Settings: a dbt command run by hand gets the pipeline's paths and limits as `--vars`
(orchestration/settings.py `Settings.dbt_vars`, from the same environment variables the CLI
reads), unless the command passes `--vars` itself, as the Dagster dbt step does.

ANSI mode:
dbt-spark 1.11 overwrites `server_side_parameters["spark.sql.ansi.enabled"]` with "false" for
every connection method (SparkCredentials.__post_init__), and the `session` method re-applies it
before every statement, so neither the profile nor a `set` hook can turn Spark 4's ANSI mode back
on. The project wants it on (profiles.yml, target `spark`): with ANSI on, an overflow, an invalid
cast or a division by zero fails the build instead of silently becoming NULL or a wrapped value,
which is how Spark/DuckDB divergences get caught. This entry point restores the value the profile
asked for and then runs `dbt` exactly as the `dbt` executable does; on DuckDB (or without
dbt-spark installed) it is plain dbt.

A `build` run while the refresh CLI has a dbt process started ahead for it runs in that process
(orchestration/dbt_prestart.py); everything else runs here.

Usage: the same arguments as `dbt`, e.g. `referral-insights-dbt build --target spark`.
"""

from __future__ import annotations

import json
import os
import sys

ANSI_KEY = "spark.sql.ansi.enabled"
# dbt subcommands that parse the project (and so render profiles.yml and the macros' vars)
_PARSING_COMMANDS = {
    "build", "clone", "compile", "docs", "list", "ls", "parse", "retry", "run",
    "run-operation", "seed", "show", "snapshot", "source", "test",
}  # fmt: skip


def with_project_vars(args: list[str]) -> list[str]:
    """`args` plus `--vars <the pipeline's settings>` when the command parses the project and
    passes no `--vars` of its own."""
    if not args or args[0] not in _PARSING_COMMANDS or any(a.startswith("--vars") for a in args):
        return args
    from orchestration import settings

    return [*args, "--vars", json.dumps(settings.load().dbt_vars())]


def honour_profile_ansi_mode() -> bool:
    """Patch dbt-spark's credentials to keep the profile's `spark.sql.ansi.enabled` (when the
    profile sets it). Returns False when dbt-spark is not installed. Idempotent."""
    try:
        from dbt.adapters.spark.connections import SparkCredentials
    except ImportError:
        return False
    if getattr(SparkCredentials.__post_init__, "_keeps_profile_ansi", False):
        return True
    original = SparkCredentials.__post_init__

    def __post_init__(self) -> None:
        requested = {str(k): str(v) for k, v in (self.server_side_parameters or {}).items()}.get(
            ANSI_KEY
        )
        original(self)
        if requested is not None:
            self.server_side_parameters[ANSI_KEY] = requested.lower()

    __post_init__._keeps_profile_ansi = True  # type: ignore[attr-defined]
    SparkCredentials.__post_init__ = __post_init__  # type: ignore[method-assign]
    return True


def run(args: list[str]) -> None:
    """dbt's command line on `args` (exits, as dbt does)."""
    honour_profile_ansi_mode()
    from dbt.cli.main import cli

    # named after the command that was run (also when a started process runs it: dbt_prestart)
    cli.main(with_project_vars(args), prog_name=os.path.basename(sys.argv[0]))


def main() -> None:
    from orchestration import dbt_prestart

    # a build the refresh CLI started a dbt process for runs there (dbt_prestart.py)
    code = dbt_prestart.relay(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
