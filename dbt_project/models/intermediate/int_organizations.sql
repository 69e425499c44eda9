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

named_records_ranked as (

    select
        organization_id,
        organization_name,
        row_number() over (
            partition by organization_id
            order by snapshot_date desc, updated_at desc, source_file desc, line_number desc
        ) as name_rank

    from referrals
    where organization_name is not null

),

latest_names as (

    select
        organization_id,
        organization_name

    from named_records_ranked
    where name_rank = 1

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
