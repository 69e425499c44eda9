{#
    QRP performance widget: per organization x program x customer country x creation month
    (plus the country = 'ALL' rollup), the counts, rates, statuses against seed
    qrp_kpi_targets and goals_met, recomputed on every refresh from the referrals' current
    states: the current report's rows of int_qrp_kpis. Formulas: docs block `qrp_kpis`.
#}

with

qrp_kpis as (

    select * from {{ ref('int_qrp_kpis') }}
    where report = 'current'

),

final as (

    select
        organization_id,
        program,
        country,
        month,
        {{ qrp_report_columns() | join(',\n        ') }}

    from qrp_kpis

)

select * from final
