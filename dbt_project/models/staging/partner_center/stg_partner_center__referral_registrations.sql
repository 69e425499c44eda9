with

source as (

    select * from {{ source('raw', 'referral_registrations') }}

),

renamed as (

    select
        referral_id,
        referral_updated_date_time as referral_updated_at,
        registration_index,
        id as registration_id,
        status as registration_status,
        contract_value,
        contract_currency,
        approved_date_time as approved_at,
        snapshot_date,
        source_file,
        line_number,
        ingested_at

    from source

)

select * from renamed
