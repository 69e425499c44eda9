{#
    The landed-data facts the validation step reads once per run: qa_landed_files (per landing
    source: newest readable snapshot, unreadable files, quarantined records, as-of date) plus
    what the valid records imply, repeated on each row: the organizations and the partner
    referrals (GX expectation parameters: expected row counts, "not empty when partner referrals
    landed"). A view over the raw layer, like qa_landed_files.
#}

with

landed_files as (

    select * from {{ ref('qa_landed_files') }}

),

referrals as (

    select * from {{ ref('stg_partner_center__referrals') }}

),

solutions as (

    select * from {{ ref('stg_partner_center__solutions') }}

),

traffic as (

    select * from {{ ref('stg_marketplace__traffic') }}

),

landed_records as (

    select organization_id, referral_id from referrals
    union all
    select organization_id, cast(null as {{ dbt.type_string() }}) as referral_id from solutions
    union all
    select organization_id, cast(null as {{ dbt.type_string() }}) as referral_id from traffic

),

record_facts as (

    -- aggregates without GROUP BY: always one row
    select
        count(distinct organization_id) as organizations,
        count(distinct referral_id) as partner_referrals

    from landed_records
    where organization_id <> 'msft'

),

final as (

    select
        landed_files.*,
        cast(record_facts.organizations as {{ dbt.type_bigint() }}) as organizations,
        cast(record_facts.partner_referrals as {{ dbt.type_bigint() }}) as partner_referrals

    from landed_files

    cross join record_facts

)

select * from final
