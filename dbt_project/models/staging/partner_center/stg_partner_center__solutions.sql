with

source as (

    select * from {{ source('raw', 'solution_snapshots') }}

),

renamed as (

    select
        id as solution_id,
        organization_id,
        name as solution_name,
        offer_id,
        solution_type,
        publish_status,
        co_sell_status,
        updated_date_time as updated_at,
        snapshot_date,
        source_file,
        line_number,
        ingested_at

    from source

)

select * from renamed
