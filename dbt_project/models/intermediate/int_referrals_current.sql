{#
    The current state of every referral copy (partner and Microsoft copies alike): its latest
    version, all fields from it, plus won_at (a date the API does not carry), and the snapshot
    date of its latest change (last_changed_snapshot_date), which the incremental models
    downstream use to find what to rebuild. Incremental by referral: a new snapshot rebuilds the
    referrals it added a version to.
#}

{{ config(**keyed_incremental_config('referral_id')) }}

with

status_history as (

    select * from {{ ref('int_referral_status_history') }}

    {% if is_incremental() %}
    where referral_id in (
        select referral_id
        from {{ ref('int_referral_status_history') }}
        where known_from_snapshot_date > {{ latest_in_this('last_changed_snapshot_date') }}
    )
    {% endif %}

),

current_versions as (

    select * from status_history
    where is_current

),

version_facts as (

    select
        referral_id,
        -- versions are ordered by updated_at first, so the first Won version has the smallest one
        min(case when substatus = 'Won' then updated_at end) as first_won_updated_at,
        -- a version added to a referral is first seen in the snapshot that changed it
        max(known_from_snapshot_date) as last_changed_snapshot_date

    from status_history
    group by referral_id

),

final as (

    select
        current_versions.referral_id,
        current_versions.engagement_id,
        current_versions.organization_id,
        current_versions.organization_name,
        current_versions.referral_name,
        current_versions.created_at,
        current_versions.updated_at,
        current_versions.accepted_at,
        current_versions.closed_at,
        current_versions.expires_at,
        current_versions.status,
        current_versions.substatus,
        current_versions.referral_type,
        current_versions.qualification,
        current_versions.direction,
        current_versions.referral_program,
        current_versions.invited_by_organization_id,
        current_versions.customer_country,
        current_versions.deal_value,
        current_versions.deal_currency,
        current_versions.closing_at,
        current_versions.is_microsoft_copy,
        case
            when current_versions.substatus = 'Won'
                then coalesce(current_versions.closed_at, version_facts.first_won_updated_at)
        end as won_at,
        current_versions.version_sequence as version_count,
        current_versions.first_seen_snapshot_date,
        current_versions.first_seen_source_file,
        current_versions.first_seen_line_number,
        version_facts.last_changed_snapshot_date

    from current_versions

    inner join version_facts
        on current_versions.referral_id = version_facts.referral_id

)

select * from final
