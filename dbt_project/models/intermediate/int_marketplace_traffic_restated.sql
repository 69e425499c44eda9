{#
    Marketplace traffic after restatements: one row per date x organization x offer. A later
    file (snapshot_date, then source_file) replaces an earlier row; within one file the last
    line wins.
#}

with

traffic as (

    select * from {{ ref('stg_marketplace__traffic') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by traffic_date, organization_id, offer_id
            order by snapshot_date desc, source_file desc, line_number desc
        ) as restatement_rank

    from traffic

),

final as (

    select
        traffic_date,
        organization_id,
        offer_id,
        page_views,
        cta_clicks,
        snapshot_date,
        source_file,
        line_number

    from ranked
    where restatement_rank = 1

)

select * from final
