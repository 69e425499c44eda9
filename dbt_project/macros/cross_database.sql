{#
    Small cross-database helpers. Models must run unchanged on DuckDB and on Spark SQL (ANSI
    mode), so anything engine-specific lives here, dispatched through `adapter.dispatch` with a
    `duckdb__`, a `spark__` and a `default__` implementation.
#}

{# Exact elapsed time in seconds (DOUBLE, fractional) from start_ts to end_ts. Buckets and
   "closed within N days" compare this with N * 86400, so it must not count calendar boundaries
   crossed (which is what datediff('second'/'day', ...) does on several engines). #}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between', 'referral_insights')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    cast({{ dbt.datediff(start_ts, end_ts, 'second') }} as double)
{%- endmacro %}

{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    {#- integer microseconds, so whole-second differences are exact after the division -#}
    (cast(date_diff('microsecond', {{ start_ts }}, {{ end_ts }}) as double) / 1000000)
{%- endmacro %}

{% macro spark__seconds_between(start_ts, end_ts) -%}
    {#- timestamps are UTC; run Spark with spark.sql.session.timeZone=UTC -#}
    (cast(unix_micros({{ end_ts }}) - unix_micros({{ start_ts }}) as double) / 1000000)
{%- endmacro %}


{# Round to `digits` decimals, halves away from zero, as DOUBLE. #}
{% macro round_half_away(expr, digits) -%}
    {{ return(adapter.dispatch('round_half_away', 'referral_insights')(expr, digits)) }}
{%- endmacro %}

{% macro default__round_half_away(expr, digits) -%}
    (sign({{ expr }}) * floor(abs({{ expr }}) * power(10, {{ digits }}) + 0.5) / power(10, {{ digits }}))
{%- endmacro %}

{% macro duckdb__round_half_away(expr, digits) -%}
    {#- DuckDB's round() on DOUBLE rounds halves away from zero -#}
    round(cast({{ expr }} as double), {{ digits }})
{%- endmacro %}

{% macro spark__round_half_away(expr, digits) -%}
    {#- Spark's round() is HALF_UP, i.e. halves away from zero -#}
    cast(round(cast({{ expr }} as double), {{ digits }}) as double)
{%- endmacro %}


{# numerator / denominator as DOUBLE; NULL when the denominator is 0 or NULL (never an error,
   also under Spark's ANSI mode). #}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}


{# Percentage 100 * numerator / denominator rounded to 2 decimals half away from zero; NULL when
   the denominator is 0. Computed as round(10000 * n / d) / 100 so that a tie (e.g. 1/800 =
   0.125 %) is decided on one correctly rounded division, not on 100 * n / d already rounded to
   the nearest binary double (where 1.005 would become 1.00). Counts are non-negative. #}
{% macro pct(numerator, denominator) -%}
    ({{ round_half_away(safe_divide('cast(' ~ numerator ~ ' as double) * 10000', denominator), 0) }} / 100)
{%- endmacro %}


{# First day of the UTC month of a timestamp or date, as DATE. #}
{% macro month_start(expr) -%}
    cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}


{# date_expr shifted by `months` calendar months, as DATE, clamping to the month end
   (2026-05-31 - 3 months = 2026-02-28) on both engines. #}
{% macro shift_months(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}


{# A DATE literal written the portable way. #}
{% macro date_literal(iso_date) -%}
    cast('{{ iso_date }}' as date)
{%- endmacro %}


{#
    The latest value of `column` an incremental model already holds (its watermark), as a scalar
    subquery on {{ this }}; 1900-01-01 while the table is empty.
#}
{% macro latest_in_this(column) -%}
    (
        select coalesce(max({{ column }}), {{ date_literal('1900-01-01') }})
        from {{ this }}
    )
{%- endmacro %}


{#
    The same watermark as a DATE literal, read from {{ this }} when the model runs: a filter on a
    literal reaches the table scans below a view (int_qrp_kpis), where a scalar subquery is only
    applied after the view has computed every row. A unit test reads its `this` fixture instead
    (through latest_in_this), as does a parse.
#}
{% macro latest_date_in_this_literal(column) -%}
    {%- if execute and model.resource_type == 'model' -%}
        {%- set latest = run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0] -%}
        {{ date_literal(latest or '1900-01-01') }}
    {%- else -%}
        {{ latest_in_this(column) }}
    {%- endif -%}
{%- endmacro %}


{#
    Config of the incremental models keyed by an entity (e.g. referral_id) whose rows are rebuilt
    per key for the keys a new snapshot changed. DuckDB: a delete+insert by the key (every row of
    a changed key is replaced, however many it has). Spark on Parquet has no row-level MERGE or
    DELETE, so there the model is a plain table rebuilt each run (is_incremental() is then false
    and the same SQL computes every key); on Delta/Iceberg it would be a merge.
#}
{% macro keyed_incremental_config(unique_key) -%}
    {%- if target.type == 'spark' -%}
        {{ return({'materialized': 'table'}) }}
    {%- else -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': unique_key,
            'on_schema_change': 'fail',
        }) }}
    {%- endif -%}
{%- endmacro %}


{#
    The value of `value` on the row with the greatest (order_columns...), compared left to right,
    per group: an aggregate, so one hash aggregation instead of a window sort. None of the
    ordering columns may be NULL.
#}
{% macro max_by_ordered(value, order_columns) -%}
    {{ return(adapter.dispatch('max_by_ordered')(value, order_columns)) }}
{%- endmacro %}

{% macro default__max_by_ordered(value, order_columns) -%}
    max_by({{ value }}, struct({{ order_columns | join(', ') }}))
{%- endmacro %}

{% macro duckdb__max_by_ordered(value, order_columns) -%}
    arg_max({{ value }}, row({{ order_columns | join(', ') }}))
{%- endmacro %}


{#
    Config of the incremental models that are partitioned by a snapshot date: on DuckDB a
    delete+insert keyed by the date (a re-run of a date replaces exactly its rows), on Spark an
    insert_overwrite of the date partitions in Parquet. Returned as a dict for
    `config(**partitioned_incremental_config('<column>'))`.
#}
{% macro partitioned_incremental_config(partition_column) -%}
    {%- if target.type == 'spark' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'insert_overwrite',
            'partition_by': [partition_column],
            'file_format': 'parquet',
            'on_schema_change': 'fail',
        }) }}
    {%- else -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': partition_column,
            'on_schema_change': 'fail',
        }) }}
    {%- endif -%}
{%- endmacro %}
