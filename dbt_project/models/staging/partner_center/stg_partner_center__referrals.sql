with

source as (

    select * from {{ source('raw', 'referral_snapshots') }}

),

renamed as (

    select
        id as referral_id,
        engagement_id,
        organization_id,
        organization_name,
        name as referral_name,
        created_date_time as created_at,
        updated_date_time as updated_at,
        accepted_date_time as accepted_at,
        closed_date_time as closed_at,
        expiration_date_time as expires_at,
        status,
        substatus,
        type as referral_type,
        qualification,
        direction,
        referral_program,
        invited_by_organization_id,
        -- the contract's placeholder for a missing country; an empty string counts as missing
        coalesce(nullif(customer_country, ''), 'ZZ') as customer_country,
        deal_value,
        deal_currency,
        closing_date_time as closing_at,
        organization_id = 'msft' as is_microsoft_copy,
        snapshot_date,
        source_file,
        line_number,
        ingested_at

    from source

)

select * from renamed
