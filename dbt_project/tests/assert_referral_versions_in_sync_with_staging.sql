{#
    Guards the incremental contract of int_referral_versions: the stored versions must be
    exactly the versions of the referral records now in raw, each with its earliest snapshot
    and a first observation that still exists. It fails when a landed file was replaced or a
    back-dated snapshot arrived and the build was not run with --full-refresh.
#}

-- shown in Dagster as an asset check of int_referral_versions
{{ config(meta={'dagster': {'ref': {'name': 'int_referral_versions'}}}) }}

with

staged as (

    select * from {{ ref('stg_partner_center__referrals') }}

),

versions as (

    select * from {{ ref('int_referral_versions') }}

),

staged_versions as (

    select
        referral_id,
        updated_at,
        min(snapshot_date) as first_seen_snapshot_date

    from staged
    group by referral_id, updated_at

),

first_observations as (

    select
        versions.referral_id,
        versions.updated_at,
        staged.referral_id as staged_referral_id

    from versions

    left join staged
        on versions.first_seen_source_file = staged.source_file
        and versions.first_seen_line_number = staged.line_number
        and versions.referral_id = staged.referral_id
        and versions.updated_at = staged.updated_at

),

version_mismatches as (

    select
        coalesce(staged_versions.referral_id, versions.referral_id) as referral_id,
        coalesce(staged_versions.updated_at, versions.updated_at) as updated_at,
        case
            when versions.referral_id is null then 'version in raw but not in int_referral_versions'
            when staged_versions.referral_id is null then 'version in int_referral_versions but no longer in raw'
            else 'first_seen_snapshot_date differs from the earliest snapshot in raw'
        end as problem

    from staged_versions

    full outer join versions
        on staged_versions.referral_id = versions.referral_id
        and staged_versions.updated_at = versions.updated_at

    where versions.referral_id is null
        or staged_versions.referral_id is null
        or staged_versions.first_seen_snapshot_date <> versions.first_seen_snapshot_date

),

missing_first_observations as (

    select
        referral_id,
        updated_at,
        'first observation no longer in raw' as problem

    from first_observations
    where staged_referral_id is null

),

final as (

    select * from version_mismatches
    union all
    select * from missing_first_observations

)

select * from final
