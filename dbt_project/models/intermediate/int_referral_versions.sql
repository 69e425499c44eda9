{{ config(**partitioned_incremental_config('first_seen_snapshot_date')) }}

{#
    One row per referral version (referral_id, updated_at), from its first observation.
    Incremental by first_seen_snapshot_date: see the model's YAML for the contract with the
    orchestrator (full refresh on a replaced or back-dated file).
#}

with

referral_snapshots as (

    select * from {{ ref('stg_partner_center__referrals') }}

    {% if is_incremental() %}
    -- only snapshots newer than everything already loaded
    where snapshot_date > {{ latest_in_this('first_seen_snapshot_date') }}
    {% endif %}

),

{% if is_incremental() %}
known_versions as (

    select
        referral_id,
        updated_at

    from {{ this }}

),
{% endif %}

observations_ranked as (

    select
        *,
        row_number() over (
            partition by referral_id, updated_at
            order by snapshot_date, source_file, line_number
        ) as observation_rank

    from referral_snapshots

),

first_observations as (

    select * from observations_ranked
    where observation_rank = 1

),

new_versions as (

    select first_observations.*

    from first_observations

    {% if is_incremental() %}
    left join known_versions
        on first_observations.referral_id = known_versions.referral_id
        and first_observations.updated_at = known_versions.updated_at

    where known_versions.referral_id is null
    {% endif %}

),

final as (

    select
        referral_id,
        updated_at,
        engagement_id,
        organization_id,
        organization_name,
        referral_name,
        created_at,
        accepted_at,
        closed_at,
        expires_at,
        status,
        substatus,
        referral_type,
        qualification,
        direction,
        referral_program,
        invited_by_organization_id,
        customer_country,
        deal_value,
        deal_currency,
        closing_at,
        is_microsoft_copy,
        snapshot_date as first_seen_snapshot_date,
        source_file as first_seen_source_file,
        line_number as first_seen_line_number,
        ingested_at

    from new_versions

)

select * from final
