{#
    Helpers of the quality models (models/quality/): each widget mart with the prepared columns
    its Great Expectations suite compares (expectations/expectations/<mart>.json).
#}

{# The landing sources feeding a widget mart, read from the mart's own `config.meta`
   (feeding_sources) in dbt's graph, so the list is defined once, beside the mart. Empty while
   dbt only parses (the graph is complete at execution time). Unit tests compile without a
   graph and override this macro with the mart's list. #}
{% macro widget_feeding_sources(mart) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if graph.nodes is not defined -%}
        {#- a unit test compiles against a manifest without a graph -#}
        {{ exceptions.raise_compiler_error(
            'widget_feeding_sources(' ~ mart ~ ') needs the graph; a unit test overrides it: '
            ~ 'overrides: {macros: {widget_feeding_sources: [...]}}'
        ) }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ mart) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error('widget_feeding_sources: no model named ' ~ mart) }}
    {%- endif -%}
    {%- set sources = (node.config.meta or {}).get('feeding_sources') -%}
    {%- if not sources -%}
        {{ exceptions.raise_compiler_error(mart ~ ' has no config.meta.feeding_sources') }}
    {%- endif -%}
    {{ return(sources) }}
{%- endmacro %}


{# One row (always exactly one, also before anything landed): the landed-data facts of the
   widget whose mart is `mart`, from `landed_relation` (qa_landed_files):
   - warehouse_as_of_date: the warehouse as-of date (NULL before any referral file loaded);
   - feeding_snapshot_age_days: days from the stalest feeding source's newest readable snapshot
     to the as-of date; NULL without an as-of date or when a feeding source has no readable
     snapshot at all;
   - feeding_files_failed: unreadable files of the feeding sources. #}
{% macro widget_landed_facts(mart, landed_relation) -%}
    {%- set sources = widget_feeding_sources(mart) -%}
    {%- set is_feeding = "landing_source in ('" ~ sources | join("', '") ~ "')" -%}
    {%- set feeding_newest = 'case when ' ~ is_feeding ~ ' then newest_snapshot_date end' -%}
    select
        cast(max(warehouse_as_of_date) as date) as warehouse_as_of_date,
        cast(
            case
                when count({{ feeding_newest }}) = {{ sources | length }}
                    then {{ dbt.datediff('min(' ~ feeding_newest ~ ')', 'max(warehouse_as_of_date)', 'day') }}
            end
        as integer) as feeding_snapshot_age_days,
        cast(coalesce(sum(case when {{ is_feeding }} then files_failed end), 0) as {{ dbt.type_bigint() }})
            as feeding_files_failed

    from {{ landed_relation }}
{%- endmacro %}


{# The batch of a widget mart that needs no prepared column besides the landed-data facts. #}
{% macro plain_quality_batch(mart) -%}
with

mart as (

    select * from {{ ref(mart) }}

),

landed as (

    {{ widget_landed_facts(mart, ref('qa_landed_files')) }}

),

final as (

    select
        mart.*,
        landed.warehouse_as_of_date,
        landed.feeding_snapshot_age_days,
        landed.feeding_files_failed

    from mart

    cross join landed

)

select * from final
{%- endmacro %}


{# The QRP report's prepared columns: the win rate's denominator, the statuses that say Goal met
   (to compare with goals_met), the per-country rows' received sum on each 'ALL' rollup row
   (partitioned by `partition_columns`), and the 10-month report window ending with the month of
   `as_of_expr`. #}
{% macro qrp_quality_batch(mart, partition_columns, as_of_expr) -%}
with

mart as (

    select * from {{ ref(mart) }}

),

landed as (

    {{ widget_landed_facts(mart, ref('qa_landed_files')) }}

),

final as (

    select
        mart.*,
        mart.referrals_declined + mart.referrals_expired + mart.referrals_won + mart.referrals_lost
            as win_rate_denominator,
        (case when mart.accept_rate_status = 'Goal met' then 1 else 0 end)
        + (case when mart.expiry_rate_status = 'Goal met' then 1 else 0 end)
        + (case when mart.close_rate_60d_status = 'Goal met' then 1 else 0 end)
        + (case when mart.close_rate_180d_status = 'Goal met' then 1 else 0 end)
        + (case when mart.win_rate_status = 'Goal met' then 1 else 0 end) as goal_met_statuses,
        case
            when mart.country = 'ALL' then sum(case when mart.country <> 'ALL' then mart.referrals_received end)
                over (partition by {% for column in partition_columns %}mart.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
        end as country_rows_received,
        {{ shift_months(month_start(as_of_expr), -9) }} as qrp_window_first_month,
        {{ month_start(as_of_expr) }} as qrp_window_last_month,
        landed.warehouse_as_of_date,
        landed.feeding_snapshot_age_days,
        landed.feeding_files_failed

    from mart

    cross join landed

)

select * from final
{%- endmacro %}
