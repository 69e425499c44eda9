{#
    The readable referral snapshot dates: files of source `referrals` that ingestion loaded
    (load_status = 'loaded'; a file that could not be read at all is not a snapshot). Each is an
    as-of date of the QRP history; the latest is the warehouse as-of date.
#}

with

ingested_files as (

    select * from {{ ref('stg_landing__ingested_files') }}

),

final as (

    select
        snapshot_date,
        count(*) as loaded_files

    from ingested_files
    where landing_source = 'referrals'
        and load_status = 'loaded'
    group by snapshot_date

)

select * from final
