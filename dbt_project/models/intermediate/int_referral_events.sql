{#
    The dated events of the partner's referrals, one row per referral x event, each taken from
    the referral's current state (raw-contract.md "Versions and current state"):
    - created: created_at;
    - accepted: the current accepted_at, whatever the status now;
    - won: won_at (current substatus Won; closed_at, else the first Won version's updated_at);
    - accepted_by_microsoft: outbound co-sell only, from int_referrals_microsoft_acceptance.
    event_date is the UTC date of event_at. The daily marts count these rows.
#}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

microsoft_acceptance as (

    select * from {{ ref('int_referrals_microsoft_acceptance') }}

),

created_events as (

    select
        organization_id,
        referral_id,
        referral_category,
        referral_kind,
        'created' as event_type,
        created_at as event_at

    from partner_referrals

),

accepted_events as (

    select
        organization_id,
        referral_id,
        referral_category,
        referral_kind,
        'accepted' as event_type,
        accepted_at as event_at

    from partner_referrals
    where accepted_at is not null

),

won_events as (

    select
        organization_id,
        referral_id,
        referral_category,
        referral_kind,
        'won' as event_type,
        won_at as event_at

    from partner_referrals
    where won_at is not null

),

accepted_by_microsoft_events as (

    select
        partner_referrals.organization_id,
        partner_referrals.referral_id,
        partner_referrals.referral_category,
        partner_referrals.referral_kind,
        'accepted_by_microsoft' as event_type,
        microsoft_acceptance.accepted_by_microsoft_at as event_at

    from partner_referrals

    inner join microsoft_acceptance
        on partner_referrals.referral_id = microsoft_acceptance.referral_id

),

unioned as (

    select * from created_events
    union all
    select * from accepted_events
    union all
    select * from won_events
    union all
    select * from accepted_by_microsoft_events

),

final as (

    select
        organization_id,
        referral_id,
        referral_category,
        referral_kind,
        event_type,
        event_at,
        cast(event_at as date) as event_date

    from unioned

)

select * from final
