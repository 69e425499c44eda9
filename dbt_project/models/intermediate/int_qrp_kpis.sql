{#
    The rows of both QRP reports with their KPIs, from their counts: the current report
    (int_qrp_monthly_counts, report = 'current', no as_of_date) and the report as it stood on
    every readable snapshot date (int_qrp_kpi_counts_history, report = 'history'). Each row
    keeps its counts and gets the five rates (pct: rounded to 2 decimals, NULL on a zero
    denominator), each rate's status against seed qrp_kpi_targets and goals_met. In between,
    one row per report row and KPI, so the targets are joined once. Formulas: docs block
    `qrp_kpis`. A view: mart_qrp_kpi_history reads only its new as-of dates through it.
#}

{%- set key_columns = ['report', 'organization_id', 'as_of_date', 'program', 'country', 'month'] %}
{%- set count_columns = qrp_count_columns() %}
{%- set kpis = qrp_kpi_names() %}

with

current_counts as (

    select * from {{ ref('int_qrp_monthly_counts') }}

),

history_counts as (

    select * from {{ ref('int_qrp_kpi_counts_history') }}

),

kpi_targets as (

    select * from {{ ref('qrp_kpi_targets') }}

),

report_counts as (

    select
        'current' as report,
        organization_id,
        cast(null as date) as as_of_date,
        program,
        country,
        month,
        {{ count_columns | join(',\n        ') }}

    from current_counts

    union all

    select
        'history' as report,
        organization_id,
        as_of_date,
        program,
        country,
        month,
        {{ count_columns | join(',\n        ') }}

    from history_counts

),

-- one row per report row and KPI: the KPI's numerator and denominator
kpi_fractions as (

    select report_counts.*, 'accept_rate' as kpi,
        referrals_accepted as numerator, referrals_received as denominator
    from report_counts

    union all

    select report_counts.*, 'expiry_rate' as kpi,
        referrals_expired as numerator, referrals_received as denominator
    from report_counts

    union all

    select report_counts.*, 'close_rate_60d' as kpi,
        closed_within_60d as numerator, referrals_received as denominator
    from report_counts

    union all

    select report_counts.*, 'close_rate_180d' as kpi,
        closed_within_180d as numerator, referrals_received as denominator
    from report_counts

    union all

    -- won out of the referrals closed for any reason
    select report_counts.*, 'win_rate' as kpi,
        referrals_won as numerator,
        referrals_declined + referrals_expired + referrals_won + referrals_lost as denominator
    from report_counts

),

kpi_rates as (

    select
        kpi_fractions.*,
        {{ pct('numerator', 'denominator') }} as rate_pct

    from kpi_fractions

),

-- higher_is_better: >= goal -> Goal met, >= approaching -> Approaching goal, else Below goal;
-- lower_is_better: < goal -> Goal met, < approaching -> Approaching goal, else Below goal.
-- NULL when the rate is NULL or the program has no target for the KPI.
kpi_statuses as (

    select
        kpi_rates.*,
        case
            when kpi_rates.rate_pct is null then null
            when kpi_targets.direction = 'higher_is_better' then
                case
                    when kpi_rates.rate_pct >= kpi_targets.goal_met_threshold then 'Goal met'
                    when kpi_rates.rate_pct >= kpi_targets.approaching_threshold then 'Approaching goal'
                    else 'Below goal'
                end
            when kpi_targets.direction = 'lower_is_better' then
                case
                    when kpi_rates.rate_pct < kpi_targets.goal_met_threshold then 'Goal met'
                    when kpi_rates.rate_pct < kpi_targets.approaching_threshold then 'Approaching goal'
                    else 'Below goal'
                end
        end as status

    from kpi_rates

    left join kpi_targets
        on kpi_rates.program = kpi_targets.program
        and kpi_rates.kpi = kpi_targets.kpi

),

-- back to one row per report row (the counts ride along: they are the same on its five rows)
final as (

    select
        {{ (key_columns + count_columns) | join(',\n        ') }},
        {% for kpi in kpis -%}
        max(case when kpi = '{{ kpi }}' then rate_pct end) as {{ kpi }}_pct,
        {% endfor -%}
        {% for kpi in kpis -%}
        max(case when kpi = '{{ kpi }}' then status end) as {{ kpi }}_status,
        {% endfor -%}
        count(case when status = 'Goal met' then 1 end) as goals_met

    from kpi_statuses
    group by
        {{ (key_columns + count_columns) | join(',\n        ') }}

)

select * from final
