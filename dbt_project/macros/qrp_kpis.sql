{#
    QRP building blocks shared by the current report's counts (int_qrp_monthly_counts) and its
    history's (int_qrp_kpi_counts_history), so that both count the same way; the rates and
    statuses of both are computed once, in int_qrp_kpis. Formulas: see docs block `qrp_kpis`.
#}

{# The count columns of a QRP KPI row, in mart order. #}
{% macro qrp_count_columns() -%}
    {{ return([
        'referrals_received',
        'referrals_accepted',
        'referrals_declined',
        'referrals_expired',
        'referrals_won',
        'referrals_lost',
        'closed_within_60d',
        'closed_within_180d',
    ]) }}
{%- endmacro %}


{# The five KPIs, as named in seed qrp_kpi_targets. #}
{% macro qrp_kpi_names() -%}
    {{ return(['accept_rate', 'expiry_rate', 'close_rate_60d', 'close_rate_180d', 'win_rate']) }}
{%- endmacro %}


{# The columns of a QRP report row after its keys, in mart order: counts, rates, statuses,
   goals_met (int_qrp_kpis computes them). #}
{% macro qrp_report_columns() -%}
    {%- set columns = qrp_count_columns() -%}
    {%- for kpi in qrp_kpi_names() %}{% do columns.append(kpi ~ '_pct') %}{% endfor -%}
    {%- for kpi in qrp_kpi_names() %}{% do columns.append(kpi ~ '_status') %}{% endfor -%}
    {%- do columns.append('goals_met') -%}
    {{ return(columns) }}
{%- endmacro %}


{# Aggregates over referral states (columns created_at, accepted_at, closed_at, status,
   substatus), one group = one KPI row. Counts are BIGINT (count() is BIGINT on both engines). #}
{% macro qrp_kpi_counts() -%}
    count(*) as referrals_received,
    -- ever accepted: accepted_at is set, whatever the status now
    count(accepted_at) as referrals_accepted,
    count(case when substatus = 'Declined' then 1 end) as referrals_declined,
    count(case when substatus = 'Expired' then 1 end) as referrals_expired,
    count(case when substatus = 'Won' then 1 end) as referrals_won,
    count(case when substatus = 'Lost' then 1 end) as referrals_lost,
    -- status Closed with closed_at - created_at <= N x 24 h exactly (any closed substatus)
    count(case
        when status = 'Closed' and {{ seconds_between('created_at', 'closed_at') }} <= 60 * 86400 then 1
    end) as closed_within_60d,
    count(case
        when status = 'Closed' and {{ seconds_between('created_at', 'closed_at') }} <= 180 * 86400 then 1
    end) as closed_within_180d
{%- endmacro %}


{# Per-country rows of `relation` plus one rollup row per group of `key_columns` with
   country = 'ALL', summed from the per-country counts (never averaged from rates). #}
{% macro qrp_country_rollup(relation, key_columns) -%}
    select
        {% for column in key_columns %}{{ column }}, {% endfor %}
        country,
        {% for column in qrp_count_columns() -%}
        {{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from {{ relation }}

    union all

    select
        {% for column in key_columns %}{{ column }}, {% endfor %}
        'ALL' as country,
        {% for column in qrp_count_columns() -%}
        cast(sum({{ column }}) as {{ dbt.type_bigint() }}) as {{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from {{ relation }}
    group by {{ key_columns | join(', ') }}
{%- endmacro %}
