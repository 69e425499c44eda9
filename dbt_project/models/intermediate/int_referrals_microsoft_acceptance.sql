{#
    When Microsoft accepted each outbound co-sell referral of the partner: its Microsoft copies
    (same engagement_id, organization_id = 'msft') that have any version with substatus Accepted
    or Won; dated by the copy's current accepted_at, else the updated_at of its first such
    version; the earliest over several copies. One row per partner referral that has one.
#}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

referrals_current as (

    select * from {{ ref('int_referrals_current') }}

),

status_history as (

    select * from {{ ref('int_referral_status_history') }}

),

outbound_referrals as (

    select
        organization_id,
        referral_id,
        engagement_id

    from partner_referrals
    where referral_category = 'cosell_outbound'
        and engagement_id is not null

),

microsoft_copies as (

    select
        referral_id,
        engagement_id,
        accepted_at

    from referrals_current
    where is_microsoft_copy

),

first_acceptances as (

    -- the first version (smallest updated_at) of each Microsoft copy that is Accepted or Won
    select
        referral_id,
        min(updated_at) as first_accepted_or_won_updated_at

    from status_history
    where is_microsoft_copy
        and substatus in ('Accepted', 'Won')
    group by referral_id

),

microsoft_acceptances as (

    select
        microsoft_copies.referral_id as microsoft_referral_id,
        microsoft_copies.engagement_id,
        coalesce(
            microsoft_copies.accepted_at,
            first_acceptances.first_accepted_or_won_updated_at
        ) as accepted_by_microsoft_at

    from microsoft_copies

    inner join first_acceptances
        on microsoft_copies.referral_id = first_acceptances.referral_id

),

final as (

    select
        outbound_referrals.organization_id,
        outbound_referrals.referral_id,
        outbound_referrals.engagement_id,
        min(microsoft_acceptances.accepted_by_microsoft_at) as accepted_by_microsoft_at,
        count(*) as accepting_microsoft_copies

    from outbound_referrals

    inner join microsoft_acceptances
        on outbound_referrals.engagement_id = microsoft_acceptances.engagement_id

    group by
        outbound_referrals.organization_id,
        outbound_referrals.referral_id,
        outbound_referrals.engagement_id

)

select * from final
