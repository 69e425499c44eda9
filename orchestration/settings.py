"""The pipeline's settings: one object, read from the environment in one place.

`Settings.from_env()` is the only reader of the pipeline's `REFERRAL_INSIGHTS_*` variables (the
alert channels and the Partner Center API have their own Dagster resources, configured with
`EnvVar`). Nothing writes the environment at run time: the CLI resolves the paths once and hands
them to the Dagster run as resource config; the dbt step hands them to dbt as `--vars`
(`Settings.dbt_vars`), which profiles.yml and the macros read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

RAW_DIR_ENV = "REFERRAL_INSIGHTS_RAW_DIR"
WAREHOUSE_ENV = "REFERRAL_INSIGHTS_WAREHOUSE"
# the dbt target (profiles.yml output) the refresh builds with; profiles.yml reads it too
DBT_TARGET_ENV = "REFERRAL_INSIGHTS_DBT_TARGET"
# DuckDB's memory limit and spill folder (issue 12): memory stays bounded at any input size, the
# excess spills to disk (DuckDB's default, <warehouse>.tmp beside the file, unless the spill dir
# says otherwise). The limit defaults to a quarter of the machine's memory, at most 2 GiB, so
# that a refresh's process tree (Dagster + dbt) stays within 3 GB at 1M referrals and 4 GB at 3M;
# it applies to ingestion and to dbt. At 1M a 1.5, 2 or 2.5 GiB limit built equally fast (22.2-
# 22.7 s of dbt) while dbt's peak RSS followed the limit (1.75 / 2.2 / 2.8 GB).
DUCKDB_MEMORY_LIMIT_ENV = "REFERRAL_INSIGHTS_DUCKDB_MEMORY_LIMIT"
DUCKDB_SPILL_DIR_ENV = "REFERRAL_INSIGHTS_DUCKDB_SPILL_DIR"
# Spark target only (docs/spark.md): the Parquet raw layer and the local session's folder.
RAW_PARQUET_DIR_ENV = "REFERRAL_INSIGHTS_RAW_PARQUET_DIR"
SPARK_DIR_ENV = "REFERRAL_INSIGHTS_SPARK_DIR"
SPARK_RAW_LOCATION_ENV = "REFERRAL_INSIGHTS_SPARK_RAW_LOCATION"
# Freshness threshold (warn level) of every widget: a feeding source's newest readable snapshot
# may be this many days older than the as-of date. Snapshots land weekly: 8 = one day of slack.
MAX_STALENESS_ENV = "REFERRAL_INSIGHTS_MAX_STALENESS_DAYS"
DEFAULT_MAX_STALENESS_DAYS = 8
# Per-organization serving databases (docs/serving.md): all, none, or a comma-separated id list.
ORGANIZATION_DATABASES_ENV = "REFERRAL_INSIGHTS_ORGANIZATION_DATABASES"

DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse" / "referral_insights.duckdb"

_ENV_FIELDS = {
    "raw_dir": RAW_DIR_ENV,
    "warehouse": WAREHOUSE_ENV,
    "dbt_target": DBT_TARGET_ENV,
    "duckdb_memory_limit": DUCKDB_MEMORY_LIMIT_ENV,
    "duckdb_spill_dir": DUCKDB_SPILL_DIR_ENV,
    "raw_parquet_dir": RAW_PARQUET_DIR_ENV,
    "spark_dir": SPARK_DIR_ENV,
    "spark_raw_location": SPARK_RAW_LOCATION_ENV,
    "organization_databases": ORGANIZATION_DATABASES_ENV,
    "max_staleness_days": MAX_STALENESS_ENV,
}


def _default_memory_limit() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return f"{min(2048 * 2**20, total // 4) // 2**20}MB"


class Settings(BaseModel):
    """Where the pipeline reads and writes, and how hard it may use the machine."""

    model_config = ConfigDict(frozen=True)

    raw_dir: Path = Field(DEFAULT_RAW_DIR, description="The landing zone.")
    warehouse: Path = Field(DEFAULT_WAREHOUSE, description="The DuckDB warehouse file.")
    dbt_target: str = Field("duckdb", description="The profiles.yml output dbt builds with.")
    duckdb_memory_limit: str = Field(
        default_factory=_default_memory_limit, description="DuckDB's memory_limit, e.g. 2048MB."
    )
    duckdb_spill_dir: Path | None = Field(None, description="DuckDB's temp_directory.")
    raw_parquet_dir: str | None = Field(
        None,
        description="Spark target: the Parquet raw layer (a local path or an s3://, gs://, "
        "hdfs:// URI). Default: raw_parquet beside the warehouse.",
    )
    spark_raw_location: str | None = Field(
        None,
        description="Spark target: what the cluster calls the Parquet raw layer, when it differs "
        "from where ingestion writes it (e.g. s3a://bucket/raw_parquet).",
    )
    spark_dir: Path | None = Field(
        None,
        description="Local Spark session's warehouse and metastore. Default: beside the warehouse.",
    )

    max_staleness_days: int = Field(
        DEFAULT_MAX_STALENESS_DAYS,
        ge=0,
        description="Days a widget's feeding snapshots may lag the as-of date before a warning.",
    )
    organization_databases: str = Field(
        "all",
        description="Which organizations get a serving DuckDB file at publish: `all`, `none`, or "
        "a comma-separated list of organization ids (their Parquet folders are always written).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {
            field: environ[name].strip()
            for field, name in _ENV_FIELDS.items()
            if (environ.get(name) or "").strip()
        }
        try:
            return cls(**values).resolved()
        except ValidationError as exc:  # name the variable, not the field
            first = exc.errors()[0]
            field = first["loc"][0]
            raise ValueError(f"{_ENV_FIELDS[field]}={values[field]!r}: {first['msg']}") from None

    def resolved(self) -> Settings:
        """Absolute paths: dbt runs with the dbt project as working directory."""
        raw_parquet = self.raw_parquet_dir
        if raw_parquet and "://" not in raw_parquet:
            raw_parquet = str(Path(raw_parquet).resolve())
        return self.model_copy(
            update={
                "raw_dir": self.raw_dir.resolve(),
                "warehouse": self.warehouse.resolve(),
                "duckdb_spill_dir": self.duckdb_spill_dir and self.duckdb_spill_dir.resolve(),
                "raw_parquet_dir": raw_parquet,
                "spark_dir": self.spark_dir and self.spark_dir.resolve(),
            }
        )

    def for_warehouse(self, warehouse: Path) -> Settings:
        """The same settings for another warehouse file (a run's resource config)."""
        return self.model_copy(update={"warehouse": Path(warehouse).resolve()})

    @property
    def spark_target(self) -> bool:
        """True when dbt runs on Spark (target `spark`, or another `spark_*` output)."""
        return self.dbt_target.startswith("spark")

    @property
    def raw_parquet_location(self) -> str:
        return self.raw_parquet_dir or str(self.warehouse.parent / "raw_parquet")

    @property
    def dbt_artifacts_dir(self) -> Path:
        """`<warehouse>.dbt/`: this warehouse's dbt builds' target folders, the parse state they
        share and the column-lineage cache, beside the file like DuckDB's `<warehouse>.tmp/`.
        Per warehouse, so that builds of different warehouses never share or prune each
        other's artifacts, and the parse state matches this warehouse's --vars."""
        return self.warehouse.with_name(f"{self.warehouse.name}.dbt")

    @property
    def spark_location(self) -> Path:
        return self.spark_dir or self.warehouse.parent / "spark"

    def dbt_vars(self) -> dict[str, str]:
        """dbt's inputs (`dbt --vars`), read by profiles.yml and macros/raw_sources.sql. They are
        the same for every build of one warehouse, so dbt's partial parsing stays valid (dbt
        re-parses the whole project when a var changes)."""
        return {
            "warehouse_path": str(self.warehouse),
            "duckdb_memory_limit": self.duckdb_memory_limit,
            "spark_raw_location": self.spark_raw_location or self.raw_parquet_location,
            "spark_dir": str(self.spark_location),
        }


def load() -> Settings:
    """The settings of this process's environment (read when called, never at import)."""
    return Settings.from_env()


def raw_dir() -> Path:
    return load().raw_dir


def warehouse_path() -> Path:
    return load().warehouse


def configure_duckdb(con, config: Settings | None = None) -> None:
    """Apply the memory limit (and a configured spill folder) to a fresh DuckDB connection:
    instance-wide settings, set by statement so that every connection opens the file with the
    same configuration."""
    config = config or load()
    con.execute(f"set memory_limit = '{config.duckdb_memory_limit}'")
    if config.duckdb_spill_dir:
        config.duckdb_spill_dir.mkdir(parents=True, exist_ok=True)
        con.execute("set temp_directory = ?", [str(config.duckdb_spill_dir)])
