{#
    The dated events of the partner's referrals, one row per referral x event, each taken from
    the referral's current state (raw-contract.md "Versions and current state"):
    - created: created_at;
    - accepted: the current accepted_at, whatever the status now;
    - won: won_at (current substatus Won; closed_at, else the first Won version's updated_at);
    - accepted_by_microsoft: outbound co-sell only, from int_referrals_microsoft_acceptance.
    event_date is the UTC date of event_at. The daily marts count these rows.
    Incremental by referral: rebuilds the events of the referrals whose current state changed
    since this table's latest last_changed_snapshot_date, and of those whose acceptance by
    Microsoft differs from the one stored here (that one changes with the Microsoft copy, not
    with the partner's referral). Every referral has a created event, so a rebuilt referral
    always has rows to replace its old ones.
#}

{{ config(**keyed_incremental_config('referral_id')) }}

with

microsoft_acceptance as (

    select * from {{ ref('int_referrals_microsoft_acceptance') }}

),

{% if is_incremental() %}
stored_microsoft_acceptance as (

    select
        referral_id,
        event_at as accepted_by_microsoft_at

    from {{ this }}
    where event_type = 'accepted_by_microsoft'

),

new_microsoft_acceptance as (

    select
        referral_id,
        accepted_by_microsoft_at

    from microsoft_acceptance

),

changed_referrals as (

    select referral_id
    from {{ ref('int_referrals_categorized') }}
    where last_changed_snapshot_date > {{ latest_in_this('last_changed_snapshot_date') }}

    union

    select referral_id
    from (
        select * from new_microsoft_acceptance
        except
        select * from stored_microsoft_acceptance
    ) as gained_or_moved

    union

    select referral_id
    from (
        select * from stored_microsoft_acceptance
        except
        select * from new_microsoft_acceptance
    ) as lost_or_moved

),
{% endif %}

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

    {% if is_incremental() %}
    where referral_id in (select referral_id from changed_referrals)
    {% endif %}

),

created_events as (

    select
        organization_id,
        referral_id,
        referral_category,
        referral_kind,
        last_changed_snapshot_date,
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
        last_changed_snapshot_date,
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
        last_changed_snapshot_date,
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
        partner_referrals.last_changed_snapshot_date,
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
        cast(event_at as date) as event_date,
        last_changed_snapshot_date

    from unioned

)

select * from final
