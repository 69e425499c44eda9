with

source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        source as landing_source,
        file_name,
        line_number,
        field as field_name,
        reason,
        raw_record,
        ingested_at

    from source

)

select * from renamed
