"""Code that exists only for dbt on Apache Spark (issue 7; docs/spark.md).

- `parquet_export`: the validated raw tables mirrored as Parquet for Spark to read;
- `marts`: the intermediate and mart tables a local Spark build wrote, landed in DuckDB;
- `dbt_cli`: `referral-insights-dbt`, dbt with the Spark profile's ANSI mode honoured.

The DuckDB pipeline never needs these; it only asks `parquet_export.spark_target()`.
"""
