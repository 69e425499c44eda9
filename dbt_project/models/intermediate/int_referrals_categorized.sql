{#
    The partner's own referrals (Microsoft copies excluded) in their current state, with the
    referral category of raw-contract.md (first matching rule wins), the kind (co-sell | lead)
    and the QRP program display name. Incremental by referral: rebuilds the referrals whose
    current state changed since this table's latest last_changed_snapshot_date.
#}

{{ config(**keyed_incremental_config('referral_id')) }}

with

referrals_current as (

    select * from {{ ref('int_referrals_current') }}

    {% if is_incremental() %}
    where last_changed_snapshot_date > {{ latest_in_this('last_changed_snapshot_date') }}
    {% endif %}

),

partner_referrals as (

    select * from referrals_current
    where not is_microsoft_copy

),

categorized as (

    select
        *,
        case
            when direction = 'Outgoing'
                then 'cosell_outbound'
            when referral_type = 'Independent' and qualification = 'Direct'
                then 'marketplace_lead'
            when referral_type = 'Independent'
                and qualification in ('MarketingQualified', 'SalesQualified')
                and invited_by_organization_id = 'msft'
                then 'qualified_lead'
            else 'cosell_inbound'
        end as referral_category,
        {{ qrp_program_name('referral_program') }} as qrp_program

    from partner_referrals

),

final as (

    select
        organization_id,
        referral_id,
        engagement_id,
        referral_category,
        case
            when referral_category in ('marketplace_lead', 'qualified_lead') then 'lead'
            else 'co-sell'
        end as referral_kind,
        qrp_program,
        organization_name,
        referral_name,
        created_at,
        updated_at,
        accepted_at,
        closed_at,
        won_at,
        expires_at,
        status,
        substatus,
        referral_type,
        qualification,
        direction,
        referral_program,
        invited_by_organization_id,
        customer_country,
        deal_value,
        deal_currency,
        closing_at,
        version_count,
        first_seen_source_file,
        first_seen_line_number,
        last_changed_snapshot_date

    from categorized

)

select * from final
