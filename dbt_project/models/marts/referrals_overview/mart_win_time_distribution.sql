{#
    Referral win time widget: all won partner referrals (both directions) by won date, kind and
    bucket of won_at - created_at (exact elapsed days, lower bound inclusive).
#}

{%- set buckets = [
    ('0-30 days', 0),
    ('30-60 days', 30),
    ('60-90 days', 60),
    ('90-180 days', 90),
    ('180-365 days', 180),
    ('365+ days', 365),
] %}

with

partner_referrals as (

    select * from {{ ref('int_referrals_categorized') }}

),

won as (

    select
        organization_id,
        referral_kind,
        cast(won_at as date) as won_date,
        {{ seconds_between('created_at', 'won_at') }} as win_seconds

    from partner_referrals
    where won_at is not null

),

bucketed as (

    select
        *,
        {{ duration_bucket_columns('win_seconds', buckets) }}

    from won

),

final as (

    select
        organization_id,
        won_date as date,
        referral_kind,
        bucket,
        bucket_order,
        count(*) as referral_count

    from bucketed
    group by organization_id, won_date, referral_kind, bucket, bucket_order

)

select * from final
