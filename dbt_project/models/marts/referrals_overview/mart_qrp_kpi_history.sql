{{ config(**partitioned_incremental_config('as_of_date')) }}

{#
    QRP KPI history: the QRP report as it stood on every readable referral snapshot date
    (as_of_date), same columns as mart_qrp_monthly_kpis plus as_of_date: the history report's
    rows of int_qrp_kpis. Incremental by as_of_date (see the YAML): only as-of dates not in
    the table yet are read, so earlier partitions are never recomputed.
#}

with

qrp_kpis as (

    select * from {{ ref('int_qrp_kpis') }}
    where report = 'history'
    {% if is_incremental() %}
        -- a literal, so the filter reaches int_qrp_kpis' scan of the counts history
        and as_of_date > {{ latest_date_in_this_literal('as_of_date') }}
    {% endif %}

),

final as (

    select
        organization_id,
        as_of_date,
        program,
        country,
        month,
        {{ qrp_report_columns() | join(',\n        ') }}

    from qrp_kpis

)

select * from final
