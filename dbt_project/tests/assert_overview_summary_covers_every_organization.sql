{#
    With an as-of date, every organization of the warehouse has exactly 4 ranges x 17 metrics
    rows in mart_overview_summary (0 when no data). Fails with the organizations that do not.
#}

-- shown in Dagster as an asset check of mart_overview_summary
{{ config(meta={'dagster': {'ref': {'name': 'mart_overview_summary'}}}) }}

with

organizations as (

    select * from {{ ref('int_organizations') }}

),

as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

summary_rows as (

    select
        organization_id,
        count(*) as row_count

    from {{ ref('mart_overview_summary') }}
    group by organization_id

),

final as (

    select
        organizations.organization_id,
        coalesce(summary_rows.row_count, 0) as row_count

    from organizations

    cross join as_of

    left join summary_rows
        on organizations.organization_id = summary_rows.organization_id

    where coalesce(summary_rows.row_count, 0) <> 4 * 17

)

select * from final
