{#
    The current state of every referral copy (partner and Microsoft copies alike): its latest
    version, all fields from it, plus won_at (a date the API does not carry).
#}

with

status_history as (

    select * from {{ ref('int_referral_status_history') }}

),

current_versions as (

    select * from status_history
    where is_current

),

first_won_versions as (

    -- versions are ordered by updated_at first, so the first Won version has the smallest one
    select
        referral_id,
        min(updated_at) as first_won_updated_at

    from status_history
    where substatus = 'Won'
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
                then coalesce(current_versions.closed_at, first_won_versions.first_won_updated_at)
        end as won_at,
        current_versions.version_sequence as version_count,
        current_versions.first_seen_snapshot_date,
        current_versions.first_seen_source_file,
        current_versions.first_seen_line_number

    from current_versions

    left join first_won_versions
        on current_versions.referral_id = first_won_versions.referral_id

)

select * from final
