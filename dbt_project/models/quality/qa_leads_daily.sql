{#
    The leads widget's batch: each day's lead counts next to what the Referrals widget's mart
    counts for the lead categories on the same organization and day.
#}

with

leads_daily as (

    select * from {{ ref('mart_leads_daily') }}

),

referrals_daily as (

    select * from {{ ref('mart_referrals_daily') }}

),

landed as (

    {{ widget_landed_facts('mart_leads_daily', ref('qa_landed_files')) }}

),

referrals_daily_leads as (

    select
        organization_id,
        date,
        sum(referrals_created) as received,
        sum(referrals_accepted) as accepted,
        sum(referrals_won) as won

    from referrals_daily
    where referral_category in ('marketplace_lead', 'qualified_lead')
    group by organization_id, date

),

final as (

    select
        leads_daily.*,
        cast(coalesce(referrals_daily_leads.received, 0) as {{ dbt.type_bigint() }}) as referrals_daily_leads_received,
        cast(coalesce(referrals_daily_leads.accepted, 0) as {{ dbt.type_bigint() }}) as referrals_daily_leads_accepted,
        cast(coalesce(referrals_daily_leads.won, 0) as {{ dbt.type_bigint() }}) as referrals_daily_leads_won,
        landed.warehouse_as_of_date,
        landed.feeding_snapshot_age_days,
        landed.feeding_files_failed

    from leads_daily

    left join referrals_daily_leads
        on leads_daily.organization_id = referrals_daily_leads.organization_id
        and leads_daily.date = referrals_daily_leads.date

    cross join landed

)

select * from final
