"""Code that exists only for dbt on Apache Spark (issue 7; docs/spark.md).

- `parquet_export`: the validated raw tables mirrored as Parquet for Spark to read;
- `marts`: the intermediate and mart tables a local Spark build wrote, landed in DuckDB.

The DuckDB pipeline never needs these (whether dbt runs on Spark is a setting,
`settings.Settings.spark_target`). `referral-insights-dbt` (orchestration/dbt_cli.py), the
project's dbt command, also honours the Spark profile's ANSI mode.
"""
