{#
    Referrals widget: per organization x UTC date x referral category, the partner referrals
    created, accepted (current accepted_at) and won (won_at) that day. Sparse.
#}

with

referral_events as (

    select * from {{ ref('int_referral_events') }}

),

final as (

    select
        organization_id,
        event_date as date,
        referral_category,
        count(case when event_type = 'created' then 1 end) as referrals_created,
        count(case when event_type = 'accepted' then 1 end) as referrals_accepted,
        count(case when event_type = 'won' then 1 end) as referrals_won

    from referral_events
    where event_type in ('created', 'accepted', 'won')
    group by organization_id, event_date, referral_category

)

select * from final
