{#
    Where source `raw` comes from on each engine (issue 7: the same project on DuckDB and Spark).

    - DuckDB: the `raw` tables of the DuckDB warehouse file, written by Dagster ingestion
      (orchestration/ingestion/schema.py). Nothing to do.
    - Spark: ingestion mirrors those tables as Hive-style Parquet
      (orchestration/spark/parquet_export.py): `<raw parquet dir>/<table>/snapshot_date=D/`
      for the data tables, one file for the bookkeeping tables. This hook (on-run-start) registers
      them in the Spark catalog as external tables `raw.<table>` with the column types below and
      discovers their partitions, so the staging models read `source('raw', ...)` unchanged. The
      tables are dropped and re-created on every run (dropping an external table leaves its
      files), so the catalog always matches the export and the DDL.

    The raw parquet dir is var `spark_raw_location`, which the pipeline passes
    (orchestration/settings.py: REFERRAL_INSIGHTS_SPARK_RAW_LOCATION, what the cluster calls it,
    e.g. s3a://bucket/raw_parquet, else the dir ingestion writes to, by default `raw_parquet` next
    to the DuckDB warehouse file); a hand-run dbt without vars reads the same variables.
#}

{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'referral_insights')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro duckdb__register_raw_sources() -%}
    {#- the sources are the DuckDB warehouse's own `raw` tables -#}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {{ referral_insights.spark__assert_session_settings() }}
        {%- set location = raw_parquet_location() -%}
        {%- set partitioned = ['referral_snapshots', 'referral_registrations', 'solution_snapshots', 'marketplace_traffic'] -%}
        {#- fail here, naming the path, when the raw layer was never exported (rather than build
            empty marts from empty sources): the export always writes this file, rows or not -#}
        {% do run_query("select count(*) from parquet.`" ~ location ~ "/ingested_files/part-0.parquet`") %}
        {% do run_query('create database if not exists raw') %}
        {%- for table, columns in spark_raw_table_columns().items() %}
            {%- set column_ddl = [] -%}
            {%- for name, data_type in columns -%}
                {%- do column_ddl.append('`' ~ name ~ '` ' ~ data_type) -%}
            {%- endfor -%}
            {%- if table in partitioned -%}
                {%- do column_ddl.append('`snapshot_date` date') -%}
            {%- endif %}
            {% do run_query('drop table if exists raw.' ~ table) %}
            {% do run_query(
                'create table raw.' ~ table ~ ' (' ~ column_ddl | join(', ') ~ ') using parquet'
                ~ (' partitioned by (snapshot_date)' if table in partitioned else '')
                ~ " location '" ~ (location ~ '/' ~ table) | replace("'", "\\'") ~ "'"
            ) %}
            {%- if table in partitioned %}
                {% do run_query('msck repair table raw.' ~ table ~ ' sync partitions') %}
            {%- endif %}
        {%- endfor %}
        {% do log('raw sources registered over ' ~ location, info=True) %}
    {%- endif -%}
{%- endmacro %}


{# The raw parquet dir as Spark sees it (see the header). #}
{% macro raw_parquet_location() -%}
    {%- set location = var('spark_raw_location', env_var('REFERRAL_INSIGHTS_SPARK_RAW_LOCATION', env_var('REFERRAL_INSIGHTS_RAW_PARQUET_DIR', '../data/warehouse/raw_parquet'))) -%}
    {{ return(location.rstrip('/')) }}
{%- endmacro %}


{#
    Fail fast on a Spark session that would silently give other numbers than DuckDB:
    - the session time zone must be UTC: raw timestamps are UTC instants, and every `cast(ts as
      date)` / `date_trunc` of the marts means the UTC day or month;
    - ANSI mode is logged (the parity test requires it on: overflow, invalid casts and division
      by zero then fail instead of turning into NULL or wrapped values).
#}
{% macro spark__assert_session_settings() -%}
    {%- set settings = run_query("select current_timezone() as tz") -%}
    {%- set tz = settings.columns[0].values()[0] -%}
    {%- if tz not in ('UTC', 'Etc/UTC', 'Z', '+00:00', 'GMT') -%}
        {{ exceptions.raise_compiler_error(
            "Spark session time zone is '" ~ tz ~ "', not UTC: set spark.sql.session.timeZone=UTC "
            ~ "(server_side_parameters of the spark target); dates would shift otherwise") }}
    {%- endif -%}
    {%- set ansi = run_query("set spark.sql.ansi.enabled").columns[1].values()[0] -%}
    {% do log('spark session: timeZone=' ~ tz ~ ', spark.sql.ansi.enabled=' ~ ansi, info=True) %}
{%- endmacro %}


{#
    Spark column types of the raw tables, in the order of orchestration/ingestion/schema.py
    (DuckDB VARCHAR -> string, BIGINT -> bigint, INTEGER -> int, DOUBLE -> double, DATE -> date,
    TIMESTAMP -> timestamp). `snapshot_date` of the partitioned tables is the partition column
    and is added last. tests/spark/test_spark_parity.py checks these against the DuckDB tables.
#}
{% macro spark_raw_table_columns() -%}
    {%- set lineage = [('source_file', 'string'), ('line_number', 'bigint')] -%}
    {{ return({
        'referral_snapshots': lineage + [
            ('id', 'string'), ('engagement_id', 'string'), ('organization_id', 'string'),
            ('organization_name', 'string'), ('name', 'string'),
            ('created_date_time', 'timestamp'), ('updated_date_time', 'timestamp'),
            ('accepted_date_time', 'timestamp'), ('closed_date_time', 'timestamp'),
            ('expiration_date_time', 'timestamp'), ('status', 'string'), ('substatus', 'string'),
            ('type', 'string'), ('qualification', 'string'), ('direction', 'string'),
            ('referral_program', 'string'), ('invited_by_organization_id', 'string'),
            ('customer_country', 'string'), ('deal_value', 'double'), ('deal_currency', 'string'),
            ('closing_date_time', 'timestamp'), ('ingested_at', 'timestamp'),
        ],
        'referral_registrations': lineage + [
            ('referral_id', 'string'), ('referral_updated_date_time', 'timestamp'),
            ('registration_index', 'int'), ('id', 'string'), ('status', 'string'),
            ('contract_value', 'double'), ('contract_currency', 'string'),
            ('approved_date_time', 'timestamp'), ('ingested_at', 'timestamp'),
        ],
        'solution_snapshots': lineage + [
            ('id', 'string'), ('organization_id', 'string'), ('name', 'string'),
            ('offer_id', 'string'), ('solution_type', 'string'), ('publish_status', 'string'),
            ('co_sell_status', 'string'), ('updated_date_time', 'timestamp'),
            ('ingested_at', 'timestamp'),
        ],
        'marketplace_traffic': lineage + [
            ('date', 'date'), ('organization_id', 'string'), ('offer_id', 'string'),
            ('page_views', 'bigint'), ('cta_clicks', 'bigint'), ('ingested_at', 'timestamp'),
        ],
        'quarantine': [
            ('source', 'string'), ('file_name', 'string'), ('line_number', 'bigint'),
            ('field', 'string'), ('reason', 'string'), ('raw_record', 'string'),
            ('ingested_at', 'timestamp'),
        ],
        'ingested_files': [
            ('source', 'string'), ('file_name', 'string'), ('snapshot_date', 'date'),
            ('file_size', 'bigint'), ('file_mtime_ns', 'bigint'), ('status', 'string'),
            ('records_loaded', 'bigint'), ('records_quarantined', 'bigint'), ('error', 'string'),
            ('ingested_at', 'timestamp'),
        ],
    }) }}
{%- endmacro %}

