{#
    Solutions outlook: published (Live) solutions per co-sell status, by each solution's latest
    state over all solution files; one row per organization x status, 0 when none. Not
    time-filtered. Each solution counts in exactly one bucket (its single coSellStatus).
#}

with

organizations as (

    select * from {{ ref('int_organizations') }}

),

warehouse_as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

solutions_current as (

    select * from {{ ref('int_solutions_current') }}

),

co_sell_statuses as (

    select 'InMarket' as source_status, 'In market' as co_sell_status
    union all
    select 'CoSellReady' as source_status, 'Co-sell ready' as co_sell_status
    union all
    select 'AzureIpCoSellIncentive' as source_status, 'Azure IP co-sell incentive' as co_sell_status

),

published_counts as (

    select
        organization_id,
        co_sell_status as source_status,
        count(*) as solution_count

    from solutions_current
    where publish_status = 'Live'
    group by organization_id, co_sell_status

),

final as (

    select
        organizations.organization_id,
        warehouse_as_of.as_of_date,
        co_sell_statuses.co_sell_status,
        cast(coalesce(published_counts.solution_count, 0) as {{ dbt.type_bigint() }}) as solution_count

    from organizations

    cross join warehouse_as_of

    cross join co_sell_statuses

    left join published_counts
        on organizations.organization_id = published_counts.organization_id
        and co_sell_statuses.source_status = published_counts.source_status

)

select * from final
