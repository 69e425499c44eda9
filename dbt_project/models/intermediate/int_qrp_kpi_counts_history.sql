{{ config(**partitioned_incremental_config('as_of_date')) }}

{#
    QRP counts as they were reported on every readable referral snapshot date D (as_of_date):
    each referral in the state known at D (int_referral_status_history: known_from <= D <
    coalesce(known_until, inf)), for the 10 calendar months ending with D's month, per country
    plus the 'ALL' rollup. Incremental by as_of_date: see the YAML.
#}

with

snapshot_dates as (

    select * from {{ ref('int_referral_snapshot_dates') }}

    {% if is_incremental() %}
    -- only as-of dates not reported yet; earlier dates' states cannot change (see the YAML)
    where snapshot_date > {{ latest_in_this('as_of_date') }}
    {% endif %}

),

status_history as (

    select * from {{ ref('int_referral_status_history') }}

),

report_windows as (

    select
        snapshot_date as as_of_date,
        {{ shift_months(month_start('snapshot_date'), -9) }} as first_month,
        {{ month_start('snapshot_date') }} as last_month

    from snapshot_dates

),

qrp_versions as (

    select
        organization_id,
        {{ qrp_program_name('referral_program') }} as program,
        customer_country as country,
        {{ month_start('created_at') }} as month,
        known_from_snapshot_date,
        known_until_snapshot_date,
        created_at,
        accepted_at,
        closed_at,
        status,
        substatus

    from status_history
    where not is_microsoft_copy
        and is_known_state
        and {{ qrp_program_name('referral_program') }} is not null

),

states_as_of as (

    select
        report_windows.as_of_date,
        qrp_versions.*

    from report_windows

    inner join qrp_versions
        on qrp_versions.known_from_snapshot_date <= report_windows.as_of_date
        and (
            qrp_versions.known_until_snapshot_date is null
            or report_windows.as_of_date < qrp_versions.known_until_snapshot_date
        )
        and qrp_versions.month between report_windows.first_month and report_windows.last_month

),

per_country as (

    select
        as_of_date,
        organization_id,
        program,
        month,
        country,
        {{ qrp_kpi_counts() }}

    from states_as_of
    group by as_of_date, organization_id, program, month, country

),

with_rollup as (

    {{ qrp_country_rollup('per_country', ['as_of_date', 'organization_id', 'program', 'month']) }}

),

final as (

    select
        organization_id,
        as_of_date,
        program,
        country,
        month,
        {{ qrp_count_columns() | join(',\n        ') }}

    from with_rollup

)

select * from final
