{#
    What the landing zone says about the landed files, for the data-quality checks: one row per
    landing source that has ever landed a file (raw.ingested_files), with the warehouse-wide
    facts repeated on each row. The widget batches (qa_*) take their landed-data columns from
    here (macro widget_landed_facts); the validation step reads it for the GX expectation
    parameters and the quarantine counts of each widget. A view: it follows the raw layer at the
    moment it is read.
#}

with

ingested_files as (

    select * from {{ ref('stg_landing__ingested_files') }}

),

quarantine as (

    select * from {{ ref('stg_landing__quarantine') }}

),

warehouse_as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

referrals as (

    select * from {{ ref('stg_partner_center__referrals') }}

),

solutions as (

    select * from {{ ref('stg_partner_center__solutions') }}

),

traffic as (

    select * from {{ ref('stg_marketplace__traffic') }}

),

files_per_source as (

    select
        landing_source,
        max(case when load_status = 'loaded' then snapshot_date end) as newest_snapshot_date,
        count(case when load_status = 'failed' then 1 end) as files_failed

    from ingested_files
    group by landing_source

),

quarantine_per_source as (

    select
        landing_source,
        count(*) as records_quarantined

    from quarantine
    group by landing_source

),

landing_sources as (

    select landing_source from files_per_source
    union
    select landing_source from quarantine_per_source

),

organization_ids as (

    select organization_id from referrals
    union all
    select organization_id from solutions
    union all
    select organization_id from traffic

),

warehouse_facts as (

    -- aggregates without GROUP BY: always one row
    select
        (select max(as_of_date) from warehouse_as_of) as warehouse_as_of_date,
        (
            select count(distinct organization_id) from organization_ids
            where organization_id <> 'msft'
        ) as organizations,
        (
            select count(distinct referral_id) from referrals
            where organization_id <> 'msft'
        ) as partner_referrals

),

final as (

    select
        landing_sources.landing_source,
        files_per_source.newest_snapshot_date,
        cast(coalesce(files_per_source.files_failed, 0) as {{ dbt.type_bigint() }}) as files_failed,
        cast(coalesce(quarantine_per_source.records_quarantined, 0) as {{ dbt.type_bigint() }})
            as records_quarantined,
        warehouse_facts.warehouse_as_of_date,
        cast(warehouse_facts.organizations as {{ dbt.type_bigint() }}) as organizations,
        cast(warehouse_facts.partner_referrals as {{ dbt.type_bigint() }}) as partner_referrals

    from landing_sources

    left join files_per_source
        on landing_sources.landing_source = files_per_source.landing_source

    left join quarantine_per_source
        on landing_sources.landing_source = quarantine_per_source.landing_source

    cross join warehouse_facts

)

select * from final
