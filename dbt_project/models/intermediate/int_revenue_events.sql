{#
    Money events of the partner's referrals, converted to USD at the UTC month of the event:
    - won: the deal value of every won referral (both kinds), dated by won_at; a won referral
      without a deal value is an event with a null value;
    - ip_cosell_approved: the contract value of each registration with status Approved and an
      approved_at, of co-sell referrals of any status (registrations on leads count nowhere);
      registrations are those of the referral's current version.
    value_usd = value * rate_to_usd of (currency, event month) in seed fx_rates; when that rate is
    missing value_usd is null and is_fx_rate_missing is true (contributes nothing to the sums;
    the data-quality step reports it).
#}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

registrations as (

    select * from {{ ref('stg_partner_center__referral_registrations') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

won_deals as (

    select
        organization_id,
        referral_id,
        referral_kind,
        'won' as event_type,
        cast(null as {{ dbt.type_string() }}) as registration_id,
        won_at as event_at,
        deal_currency as currency,
        deal_value as value

    from partner_referrals
    where won_at is not null

),

approved_registrations as (

    select
        partner_referrals.organization_id,
        partner_referrals.referral_id,
        partner_referrals.referral_kind,
        'ip_cosell_approved' as event_type,
        registrations.registration_id,
        registrations.approved_at as event_at,
        registrations.contract_currency as currency,
        registrations.contract_value as value

    from partner_referrals

    -- the registrations of the exact record kept as the referral's current version
    inner join registrations
        on partner_referrals.first_seen_source_file = registrations.source_file
        and partner_referrals.first_seen_line_number = registrations.line_number

    where partner_referrals.referral_kind = 'co-sell'
        and registrations.registration_status = 'Approved'
        and registrations.approved_at is not null

),

unioned as (

    select * from won_deals
    union all
    select * from approved_registrations

),

dated as (

    select
        *,
        cast(event_at as date) as event_date,
        {{ month_start('event_at') }} as event_month

    from unioned

),

converted as (

    select
        dated.organization_id,
        dated.referral_id,
        dated.referral_kind,
        dated.event_type,
        dated.registration_id,
        dated.event_at,
        dated.event_date,
        dated.event_month,
        dated.currency,
        dated.value,
        fx_rates.rate_to_usd,
        dated.value * fx_rates.rate_to_usd as value_usd,
        (dated.value is not null and fx_rates.rate_to_usd is null) as is_fx_rate_missing

    from dated

    left join fx_rates
        on upper(dated.currency) = fx_rates.currency
        and dated.event_month = fx_rates.month

)

select * from converted
