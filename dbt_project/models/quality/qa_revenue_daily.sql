{#
    The revenue widget's batch: each day's won count next to the Referrals widget's, per
    referral kind, and the revenue events whose (currency, month) has no fx rate: such a value
    adds nothing to the sums, a data-quality failure of the widget (raw-contract).
#}

with

revenue_daily as (

    select * from {{ ref('mart_revenue_daily') }}

),

referrals_daily as (

    select * from {{ ref('mart_referrals_daily') }}

),

revenue_events as (

    select * from {{ ref('int_revenue_events') }}

),

landed as (

    {{ widget_landed_facts('mart_revenue_daily', ref('qa_landed_files')) }}

),

referrals_daily_won as (

    select
        organization_id,
        date,
        case
            when referral_category in ('cosell_inbound', 'cosell_outbound') then 'co-sell'
            else 'lead'
        end as referral_kind,
        sum(referrals_won) as won

    from referrals_daily
    group by
        organization_id,
        date,
        case
            when referral_category in ('cosell_inbound', 'cosell_outbound') then 'co-sell'
            else 'lead'
        end

),

missing_fx_rate as (

    select count(*) as events_missing_fx_rate
    from revenue_events
    where is_fx_rate_missing

),

final as (

    select
        revenue_daily.*,
        cast(coalesce(referrals_daily_won.won, 0) as {{ dbt.type_bigint() }}) as referrals_daily_won,
        missing_fx_rate.events_missing_fx_rate,
        landed.warehouse_as_of_date,
        landed.feeding_snapshot_age_days,
        landed.feeding_files_failed

    from revenue_daily

    left join referrals_daily_won
        on revenue_daily.organization_id = referrals_daily_won.organization_id
        and revenue_daily.date = referrals_daily_won.date
        and revenue_daily.referral_kind = referrals_daily_won.referral_kind

    cross join missing_fx_rate

    cross join landed

)

select * from final
