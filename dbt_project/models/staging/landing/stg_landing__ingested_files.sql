with

source as (

    select * from {{ source('raw', 'ingested_files') }}

),

renamed as (

    select
        source as landing_source,
        file_name,
        snapshot_date,
        file_size as file_size_bytes,
        file_mtime_ns,
        status as load_status,
        records_loaded,
        records_quarantined,
        error as load_error,
        ingested_at

    from source

)

select * from renamed
