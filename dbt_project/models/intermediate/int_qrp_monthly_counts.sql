{#
    QRP counts per organization x program x customer country x creation month, from the
    referrals' CURRENT states (so a month's counts move when its referrals change), for the 10
    calendar months ending with the as-of month, plus the country = 'ALL' rollup per
    organization x program x month. Every partner referral of a QRP program counts, whatever its
    category. Formulas: docs block `qrp_kpis`.
#}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

warehouse_as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

report_window as (

    select
        {{ shift_months(month_start('as_of_date'), -9) }} as first_month,
        {{ month_start('as_of_date') }} as last_month

    from warehouse_as_of

),

qrp_referrals as (

    select
        organization_id,
        qrp_program as program,
        customer_country as country,
        {{ month_start('created_at') }} as month,
        created_at,
        accepted_at,
        closed_at,
        status,
        substatus

    from partner_referrals
    where qrp_program is not null

),

in_window as (

    select qrp_referrals.*

    from qrp_referrals

    inner join report_window
        on qrp_referrals.month between report_window.first_month and report_window.last_month

),

per_country as (

    select
        organization_id,
        program,
        month,
        country,
        {{ qrp_kpi_counts() }}

    from in_window
    group by organization_id, program, month, country

),

with_rollup as (

    {{ qrp_country_rollup('per_country', ['organization_id', 'program', 'month']) }}

),

final as (

    select
        organization_id,
        program,
        country,
        month,
        {{ qrp_count_columns() | join(',\n        ') }}

    from with_rollup

)

select * from final
