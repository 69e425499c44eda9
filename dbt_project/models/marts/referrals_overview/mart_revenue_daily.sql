{#
    Revenue widget: per organization x UTC date x referral kind, the won referrals and their
    deal value in USD (a won referral without a deal value adds to won_count only) and the
    contract value in USD of IP co-sell registrations approved that day (co-sell referrals only).
    Converted at the event's UTC month; a missing fx rate contributes nothing. USD unrounded.
    Sparse.
#}

with

revenue_events as (

    select * from {{ ref('int_revenue_events') }}

),

daily as (

    select
        organization_id,
        event_date as date,
        referral_kind,
        count(case when event_type = 'won' then 1 end) as won_count,
        cast(coalesce(sum(case when event_type = 'won' then value_usd end), 0) as double)
            as won_value_usd,
        cast(coalesce(sum(case when event_type = 'ip_cosell_approved' then value_usd end), 0) as double)
            as ip_cosell_approved_value_usd

    from revenue_events
    group by organization_id, event_date, referral_kind

),

final as (

    select * from daily
    where won_count > 0
        or won_value_usd <> 0
        or ip_cosell_approved_value_usd <> 0

)

select * from final
