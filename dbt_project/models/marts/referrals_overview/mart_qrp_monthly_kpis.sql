{#
    QRP performance widget: per organization x program x customer country x creation month
    (plus the country = 'ALL' rollup), the counts, rates, statuses against seed
    qrp_kpi_targets and goals_met, recomputed on every refresh from the referrals' current
    states. Formulas: docs block `qrp_kpis`.
#}

with

qrp_counts as (

    select * from {{ ref('int_qrp_monthly_counts') }}

),

qrp_kpi_targets as (

    select * from {{ ref('qrp_kpi_targets') }}

),

final as (

    {{ qrp_kpi_report(
        'qrp_counts',
        'qrp_kpi_targets',
        ['organization_id', 'program', 'country', 'month'],
    ) }}

)

select * from final
