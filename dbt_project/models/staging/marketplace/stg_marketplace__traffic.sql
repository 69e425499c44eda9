with

source as (

    select * from {{ source('raw', 'marketplace_traffic') }}

),

renamed as (

    select
        date as traffic_date,
        organization_id,
        offer_id,
        page_views,
        cta_clicks,
        snapshot_date,
        source_file,
        line_number,
        ingested_at

    from source

)

select * from renamed
