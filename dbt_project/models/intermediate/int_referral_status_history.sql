{#
    The sequence of versions of every referral, with two time axes:
    - valid time: valid_from = the version's updated_at, valid_to = the next version's
      updated_at (null for the current version);
    - knowledge time: the version is what the snapshots said from known_from_snapshot_date (its
      first snapshot) until known_until_snapshot_date (the first snapshot of any later-ordered
      version). "State as of snapshot date D" = known_from <= D < coalesce(known_until, inf).
    Incremental by referral: a new snapshot rebuilds all the versions of the referrals it added a
    version to (their later versions change valid_to / known_until of earlier ones).
#}

{{ config(**keyed_incremental_config('referral_id')) }}

with

referral_versions as (

    select * from {{ ref('int_referral_versions') }}

    {% if is_incremental() %}
    where referral_id in (
        select referral_id
        from {{ ref('int_referral_versions') }}
        where first_seen_snapshot_date > {{ latest_in_this('known_from_snapshot_date') }}
    )
    {% endif %}

),

with_validity as (

    -- one window specification for all three, so the engine sorts the versions once
    select
        *,
        -- BIGINT on both engines (row_number() is INT on Spark, BIGINT on DuckDB)
        cast(row_number() over (
            partition by referral_id
            order by updated_at, first_seen_snapshot_date, first_seen_source_file, first_seen_line_number
        ) as {{ dbt.type_bigint() }}) as version_sequence,
        lead(updated_at) over (
            partition by referral_id
            order by updated_at, first_seen_snapshot_date, first_seen_source_file, first_seen_line_number
        ) as valid_to,
        min(first_seen_snapshot_date) over (
            partition by referral_id
            order by updated_at, first_seen_snapshot_date, first_seen_source_file, first_seen_line_number
            rows between 1 following and unbounded following
        ) as known_until_snapshot_date

    from referral_versions

),

final as (

    select
        referral_id,
        version_sequence,
        updated_at as valid_from,
        valid_to,
        first_seen_snapshot_date as known_from_snapshot_date,
        known_until_snapshot_date,
        -- a version superseded by one seen no later than itself was never the state as of a date
        (
            known_until_snapshot_date is null
            or known_until_snapshot_date > first_seen_snapshot_date
        ) as is_known_state,
        -- updated_at is never null, so only the last version has no next one
        valid_to is null as is_current,
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
        first_seen_snapshot_date,
        first_seen_source_file,
        first_seen_line_number

    from with_validity

)

select * from final
