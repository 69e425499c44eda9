{#
    The organizations of the warehouse: every non-msft organization_id seen in a valid referral,
    solution or traffic record (raw tables hold only valid records), with the organization name
    of its latest referral record when there is one.
#}

with

referrals as (

    select * from {{ ref('stg_partner_center__referrals') }}

),

solutions as (

    select * from {{ ref('stg_partner_center__solutions') }}

),

traffic as (

    select * from {{ ref('stg_marketplace__traffic') }}

),

organization_ids as (

    select organization_id from referrals
    union
    select organization_id from solutions
    union
    select organization_id from traffic

),

latest_names as (

    -- the name on the latest record: one aggregation, not a window sort of every record
    select
        organization_id,
        {{ max_by_ordered('organization_name', ['snapshot_date', 'updated_at', 'source_file', 'line_number']) }}
            as organization_name

    from referrals
    where organization_name is not null
    group by organization_id

),

final as (

    select
        organization_ids.organization_id,
        latest_names.organization_name

    from organization_ids

    left join latest_names
        on organization_ids.organization_id = latest_names.organization_id

    where organization_ids.organization_id <> 'msft'

)

select * from final
