{#
    Every organization of the warehouse with its current name, for consumers that show names
    instead of ids (the dashboard, BI tools, the semantic layer's `organization` entity).
#}

with

organizations as (

    select * from {{ ref('int_organizations') }}

),

final as (

    select
        organization_id,
        organization_name,
        -- a label that is never empty: organizations seen only in solution or traffic files
        -- carry no organizationName
        coalesce(organization_name, organization_id) as display_name

    from organizations

)

select * from final
