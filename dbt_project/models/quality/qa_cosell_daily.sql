{#
    The co-sell widget's batch: each day's co-sell counts next to what the Referrals widget's
    mart counts for the same organization and day (both count the same events).
#}

with

cosell_daily as (

    select * from {{ ref('mart_cosell_daily') }}

),

referrals_daily as (

    select * from {{ ref('mart_referrals_daily') }}

),

landed as (

    {{ widget_landed_facts('mart_cosell_daily', ref('qa_landed_files')) }}

),

referrals_daily_cosell as (

    select
        organization_id,
        date,
        sum(case when referral_category = 'cosell_inbound' then referrals_created else 0 end) as inbound,
        sum(case when referral_category = 'cosell_outbound' then referrals_created else 0 end) as outbound,
        sum(case when referral_category = 'cosell_inbound' then referrals_accepted else 0 end) as accepted,
        sum(case when referral_category in ('cosell_inbound', 'cosell_outbound') then referrals_won else 0 end) as won

    from referrals_daily
    group by organization_id, date

),

final as (

    select
        cosell_daily.*,
        cast(coalesce(referrals_daily_cosell.inbound, 0) as {{ dbt.type_bigint() }}) as referrals_daily_inbound,
        cast(coalesce(referrals_daily_cosell.outbound, 0) as {{ dbt.type_bigint() }}) as referrals_daily_outbound,
        cast(coalesce(referrals_daily_cosell.accepted, 0) as {{ dbt.type_bigint() }}) as referrals_daily_accepted,
        cast(coalesce(referrals_daily_cosell.won, 0) as {{ dbt.type_bigint() }}) as referrals_daily_won,
        landed.warehouse_as_of_date,
        landed.feeding_snapshot_age_days,
        landed.feeding_files_failed

    from cosell_daily

    left join referrals_daily_cosell
        on cosell_daily.organization_id = referrals_daily_cosell.organization_id
        and cosell_daily.date = referrals_daily_cosell.date

    cross join landed

)

select * from final
