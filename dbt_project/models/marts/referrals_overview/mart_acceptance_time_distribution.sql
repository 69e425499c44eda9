{#
    Referral acceptance time widget: inbound partner referrals (cosell_inbound, marketplace_lead,
    qualified_lead) by acceptance date, kind and bucket of accepted_at - created_at (exact
    elapsed time, lower bound inclusive). Outbound referrals are accepted at creation: excluded.
#}

{%- set buckets = [
    ('< 1 day', 0),
    ('1-3 days', 1),
    ('3-7 days', 3),
    ('7-14 days', 7),
    ('14+ days', 14),
] %}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

accepted_inbound as (

    select
        organization_id,
        referral_kind,
        cast(accepted_at as date) as accepted_date,
        {{ seconds_between('created_at', 'accepted_at') }} as acceptance_seconds

    from partner_referrals
    where referral_category in ('cosell_inbound', 'marketplace_lead', 'qualified_lead')
        and accepted_at is not null

),

bucketed as (

    select
        *,
        {{ duration_bucket_columns('acceptance_seconds', buckets) }}

    from accepted_inbound

),

final as (

    select
        organization_id,
        accepted_date as date,
        referral_kind,
        bucket,
        bucket_order,
        count(*) as referral_count

    from bucketed
    group by organization_id, accepted_date, referral_kind, bucket, bucket_order

)

select * from final
