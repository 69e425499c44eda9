{#
    QRP KPI building blocks shared by the current report (int_qrp_monthly_counts ->
    mart_qrp_monthly_kpis) and its history (int_qrp_kpi_counts_history -> mart_qrp_kpi_history),
    so that both compute every number the same way. Formulas: see docs block `qrp_kpis`.
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


{# The five KPIs, as named in seed qrp_kpi_targets, with numerator and denominator. #}
{% macro qrp_kpis() -%}
    {{ return([
        {'kpi': 'accept_rate', 'numerator': 'referrals_accepted', 'denominator': 'referrals_received'},
        {'kpi': 'expiry_rate', 'numerator': 'referrals_expired', 'denominator': 'referrals_received'},
        {'kpi': 'close_rate_60d', 'numerator': 'closed_within_60d', 'denominator': 'referrals_received'},
        {'kpi': 'close_rate_180d', 'numerator': 'closed_within_180d', 'denominator': 'referrals_received'},
        {'kpi': 'win_rate', 'numerator': 'referrals_won',
         'denominator': '(referrals_declined + referrals_expired + referrals_won + referrals_lost)'},
    ]) }}
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


{# Status of a rounded rate against one row of qrp_kpi_targets (aliased `target_alias`):
   higher_is_better: >= goal -> Goal met, >= approaching -> Approaching goal, else Below goal;
   lower_is_better:  <  goal -> Goal met, <  approaching -> Approaching goal, else Below goal.
   NULL when the rate is NULL or no target exists. The thresholds live only in the seed. #}
{% macro qrp_kpi_status(rate, target_alias) -%}
    case
        when {{ rate }} is null then null
        when {{ target_alias }}.direction = 'higher_is_better' then
            case
                when {{ rate }} >= {{ target_alias }}.goal_met_threshold then 'Goal met'
                when {{ rate }} >= {{ target_alias }}.approaching_threshold then 'Approaching goal'
                else 'Below goal'
            end
        when {{ target_alias }}.direction = 'lower_is_better' then
            case
                when {{ rate }} < {{ target_alias }}.goal_met_threshold then 'Goal met'
                when {{ rate }} < {{ target_alias }}.approaching_threshold then 'Approaching goal'
                else 'Below goal'
            end
    end
{%- endmacro %}


{# The QRP KPI report rows from a relation of counts (key_columns + country + the count
   columns): rates (pct, NULL on a zero denominator), statuses from `targets_relation`
   (seed qrp_kpi_targets, joined on program and kpi) and goals_met. Output columns:
   key_columns (program and month among them, in the given order), then the counts, rates,
   statuses and goals_met in mart order. `country` must be listed in key_columns. #}
{% macro qrp_kpi_report(counts_relation, targets_relation, key_columns) -%}
    {%- set kpis = qrp_kpis() -%}
    select
        {% for column in key_columns %}{{ column }},
        {% endfor -%}
        {% for column in qrp_count_columns() %}{{ column }},
        {% endfor -%}
        {% for kpi in kpis %}{{ kpi.kpi }}_pct,
        {% endfor -%}
        {% for kpi in kpis %}{{ kpi.kpi }}_status,
        {% endfor -%}
        cast(
            {% for kpi in kpis -%}
            (case when {{ kpi.kpi }}_status = 'Goal met' then 1 else 0 end){% if not loop.last %} + {% endif %}
            {% endfor -%}
        as {{ dbt.type_bigint() }}) as goals_met

    from (

        select
            rated.*,
            {% for kpi in kpis -%}
            {{ qrp_kpi_status('rated.' ~ kpi.kpi ~ '_pct', kpi.kpi ~ '_target') }} as {{ kpi.kpi }}_status{% if not loop.last %},{% endif %}
            {% endfor %}

        from (

            select
                counts.*,
                {% for kpi in kpis -%}
                {{ pct('counts.' ~ kpi.numerator, kpi.denominator) }} as {{ kpi.kpi }}_pct{% if not loop.last %},{% endif %}
                {% endfor %}
            from {{ counts_relation }} as counts

        ) as rated

        {% for kpi in kpis %}
        left join {{ targets_relation }} as {{ kpi.kpi }}_target
            on rated.program = {{ kpi.kpi }}_target.program
            and {{ kpi.kpi }}_target.kpi = '{{ kpi.kpi }}'
        {% endfor %}

    ) as graded
{%- endmacro %}
