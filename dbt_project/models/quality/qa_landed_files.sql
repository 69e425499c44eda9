{#
    What the landed files say, per landing source: the newest readable snapshot, the unreadable
    files and the quarantined records, with the warehouse as-of date on every row. One row per
    landing source that has landed a file or a quarantined record. The widget batches (qa_*)
    take their landed-data columns from here (macro widget_landed_facts): it reads only
    ingestion's bookkeeping tables, so each batch view stays cheap. A view: it follows the raw
    layer at the moment it is read.
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

final as (

    select
        landing_sources.landing_source,
        files_per_source.newest_snapshot_date,
        cast(coalesce(files_per_source.files_failed, 0) as {{ dbt.type_bigint() }}) as files_failed,
        cast(coalesce(quarantine_per_source.records_quarantined, 0) as {{ dbt.type_bigint() }})
            as records_quarantined,
        warehouse_as_of.as_of_date as warehouse_as_of_date

    from landing_sources

    left join files_per_source
        on landing_sources.landing_source = files_per_source.landing_source

    left join quarantine_per_source
        on landing_sources.landing_source = quarantine_per_source.landing_source

    -- one row, or none before any referral file loaded
    left join warehouse_as_of on 1 = 1

)

select * from final
