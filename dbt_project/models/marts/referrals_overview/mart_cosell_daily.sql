{#
    Co-sell opportunities widget: per organization x UTC date. inbound / outbound = co-sell
    referrals created that day by direction; accepted = cosell_inbound accepted by the partner;
    accepted_by_microsoft = cosell_outbound accepted by Microsoft; won = co-sell referrals (both
    directions) won. Sparse. Win rate over a range = 100 * sum(won) / (sum(accepted) +
    sum(outbound)).
#}

with

referral_events as (

    select * from {{ ref('int_referral_events') }}

),

measured_events as (

    select
        organization_id,
        event_date,
        case
            when event_type = 'created' and referral_category = 'cosell_inbound' then 'inbound'
            when event_type = 'created' and referral_category = 'cosell_outbound' then 'outbound'
            when event_type = 'accepted' and referral_category = 'cosell_inbound' then 'accepted'
            when event_type = 'accepted_by_microsoft' then 'accepted_by_microsoft'
            when event_type = 'won' then 'won'
        end as measure

    from referral_events
    where referral_kind = 'co-sell'

),

final as (

    select
        organization_id,
        event_date as date,
        count(case when measure = 'inbound' then 1 end) as inbound,
        count(case when measure = 'outbound' then 1 end) as outbound,
        count(case when measure = 'accepted' then 1 end) as accepted,
        count(case when measure = 'accepted_by_microsoft' then 1 end) as accepted_by_microsoft,
        count(case when measure = 'won' then 1 end) as won

    from measured_events
    where measure is not null
    group by organization_id, event_date

)

select * from final
