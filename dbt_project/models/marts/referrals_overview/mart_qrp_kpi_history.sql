{{ config(**partitioned_incremental_config('as_of_date')) }}

{#
    QRP KPI history: the QRP report as it stood on every readable referral snapshot date
    (as_of_date), same columns as mart_qrp_monthly_kpis plus as_of_date. Incremental by
    as_of_date (see the YAML).
#}

with

qrp_counts_history as (

    select * from {{ ref('int_qrp_kpi_counts_history') }}

    {% if is_incremental() %}
    where as_of_date > {{ latest_in_this('as_of_date') }}
    {% endif %}

),

qrp_kpi_targets as (

    select * from {{ ref('qrp_kpi_targets') }}

),

final as (

    {{ qrp_kpi_report(
        'qrp_counts_history',
        'qrp_kpi_targets',
        ['organization_id', 'as_of_date', 'program', 'country', 'month'],
    ) }}

)

select * from final
