{#
    Referral distribution widget: the count of partner referrals whose CURRENT state is each
    status / substatus, per category. A snapshot, not a funnel; not time-filtered.
#}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

warehouse_as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

distribution as (

    select
        organization_id,
        referral_category,
        status,
        substatus,
        count(*) as referral_count

    from partner_referrals
    group by organization_id, referral_category, status, substatus

),

final as (

    select
        distribution.organization_id,
        warehouse_as_of.as_of_date,
        distribution.referral_category,
        distribution.status,
        distribution.substatus,
        distribution.referral_count

    from distribution

    cross join warehouse_as_of

)

select * from final
