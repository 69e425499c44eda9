{#
    When the previous successful build of this warehouse began (ops.dbt_build_state, written by
    the orchestrator after each complete build, orchestration/defs/dbt.py), as a timestamp
    literal; none when there is no record (a first build, a hand-run dbt on a new warehouse) or
    on an engine without the ops schema (Spark). Read at execution time, so it is no dbt var:
    a var that changes every build would cost a full re-parse of the project each time.
#}
{% macro previous_build_started_at() -%}
    {{ return(adapter.dispatch('previous_build_started_at', 'referral_insights')()) }}
{%- endmacro %}

{% macro default__previous_build_started_at() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__previous_build_started_at() -%}
    {%- set state = adapter.get_relation(database=target.database, schema='ops', identifier='dbt_build_state') -%}
    {%- if state is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set started = run_query('select max(started_at) from ' ~ state).columns[0].values()[0] -%}
    {{ return(started.isoformat(sep=' ') if started is not none else none) }}
{%- endmacro %}
