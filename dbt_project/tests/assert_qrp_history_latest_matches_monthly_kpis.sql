{#
    The QRP history row set of the warehouse as-of date must equal the current QRP report:
    the state known at the latest readable snapshot is every referral's current version.
    Fails with the rows present on one side only (EXCEPT compares NULLs as equal).
#}

-- shown in Dagster as an asset check of mart_qrp_kpi_history
{{ config(meta={'dagster': {'ref': {'name': 'mart_qrp_kpi_history'}}}) }}

with

as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

monthly_kpis as (

    select * from {{ ref('mart_qrp_monthly_kpis') }}

),

latest_history as (

    select history.*

    from {{ ref('mart_qrp_kpi_history') }} as history

    inner join as_of
        on history.as_of_date = as_of.as_of_date

),

{%- set columns = [
    'organization_id', 'program', 'country', 'month',
    'referrals_received', 'referrals_accepted', 'referrals_declined', 'referrals_expired',
    'referrals_won', 'referrals_lost', 'closed_within_60d', 'closed_within_180d',
    'accept_rate_pct', 'expiry_rate_pct', 'close_rate_60d_pct', 'close_rate_180d_pct',
    'win_rate_pct', 'accept_rate_status', 'expiry_rate_status', 'close_rate_60d_status',
    'close_rate_180d_status', 'win_rate_status', 'goals_met',
] %}

only_in_monthly as (

    select {{ columns | join(', ') }} from monthly_kpis
    except
    select {{ columns | join(', ') }} from latest_history

),

only_in_history as (

    select {{ columns | join(', ') }} from latest_history
    except
    select {{ columns | join(', ') }} from monthly_kpis

),

final as (

    select 'only in mart_qrp_monthly_kpis' as problem, only_in_monthly.* from only_in_monthly
    union all
    select 'only in mart_qrp_kpi_history' as problem, only_in_history.* from only_in_history

)

select * from final
