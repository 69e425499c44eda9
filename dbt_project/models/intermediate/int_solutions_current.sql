{#
    The latest state of every solution over all solution files, ordered by (updated_at,
    snapshot_date, source_file, line_number). A solution absent from a later full snapshot keeps
    its latest state (it is not deleted).
#}

with

solutions as (

    select * from {{ ref('stg_partner_center__solutions') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by solution_id
            order by updated_at desc, snapshot_date desc, source_file desc, line_number desc
        ) as recency_rank

    from solutions

),

final as (

    select
        solution_id,
        organization_id,
        solution_name,
        offer_id,
        solution_type,
        publish_status,
        co_sell_status,
        updated_at,
        snapshot_date as last_snapshot_date,
        source_file,
        line_number

    from ranked
    where recency_rank = 1

)

select * from final
