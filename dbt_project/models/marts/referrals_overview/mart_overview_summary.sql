{#
    Headline numbers per standard range: for 1M, 3M, 6M and 12M ending on the as-of date,
    each metric is exactly the sum of the daily marts over [range_start, range_end], rates the
    ratio of those sums. One row per organization x range x metric, 0 when there is no data,
    rates NULL when undefined. Formulas: docs block `overview_summary`.
#}

{%- set metrics = [
    'referrals_total',
    'referrals_accepted',
    'referrals_won',
    'cosell_inbound',
    'cosell_outbound',
    'cosell_accepted',
    'cosell_accepted_by_microsoft',
    'cosell_won',
    'cosell_win_rate_pct',
    'leads_page_views',
    'leads_cta_clicks',
    'leads_received',
    'leads_accepted',
    'leads_won',
    'leads_win_rate_pct',
    'revenue_won_usd',
    'revenue_ip_cosell_approved_usd',
] %}

with

organizations as (

    select * from {{ ref('int_organizations') }}

),

time_ranges as (

    select * from {{ ref('int_overview_time_ranges') }}

),

referrals_daily as (

    select * from {{ ref('mart_referrals_daily') }}

),

cosell_daily as (

    select * from {{ ref('mart_cosell_daily') }}

),

leads_daily as (

    select * from {{ ref('mart_leads_daily') }}

),

revenue_daily as (

    select * from {{ ref('mart_revenue_daily') }}

),

organization_ranges as (

    select
        organizations.organization_id,
        time_ranges.time_range,
        time_ranges.as_of_date,
        time_ranges.range_start,
        time_ranges.range_end

    from organizations

    cross join time_ranges

),

referral_totals as (

    select
        organization_ranges.organization_id,
        organization_ranges.time_range,
        sum(referrals_daily.referrals_created) as referrals_total,
        sum(referrals_daily.referrals_accepted) as referrals_accepted,
        sum(referrals_daily.referrals_won) as referrals_won

    from organization_ranges

    inner join referrals_daily
        on organization_ranges.organization_id = referrals_daily.organization_id
        and referrals_daily.date between organization_ranges.range_start and organization_ranges.range_end

    group by organization_ranges.organization_id, organization_ranges.time_range

),

cosell_totals as (

    select
        organization_ranges.organization_id,
        organization_ranges.time_range,
        sum(cosell_daily.inbound) as cosell_inbound,
        sum(cosell_daily.outbound) as cosell_outbound,
        sum(cosell_daily.accepted) as cosell_accepted,
        sum(cosell_daily.accepted_by_microsoft) as cosell_accepted_by_microsoft,
        sum(cosell_daily.won) as cosell_won

    from organization_ranges

    inner join cosell_daily
        on organization_ranges.organization_id = cosell_daily.organization_id
        and cosell_daily.date between organization_ranges.range_start and organization_ranges.range_end

    group by organization_ranges.organization_id, organization_ranges.time_range

),

leads_totals as (

    select
        organization_ranges.organization_id,
        organization_ranges.time_range,
        sum(leads_daily.page_views) as leads_page_views,
        sum(leads_daily.cta_clicks) as leads_cta_clicks,
        sum(leads_daily.leads_received) as leads_received,
        sum(leads_daily.leads_accepted) as leads_accepted,
        sum(leads_daily.leads_won) as leads_won

    from organization_ranges

    inner join leads_daily
        on organization_ranges.organization_id = leads_daily.organization_id
        and leads_daily.date between organization_ranges.range_start and organization_ranges.range_end

    group by organization_ranges.organization_id, organization_ranges.time_range

),

revenue_totals as (

    select
        organization_ranges.organization_id,
        organization_ranges.time_range,
        sum(revenue_daily.won_value_usd) as revenue_won_usd,
        sum(revenue_daily.ip_cosell_approved_value_usd) as revenue_ip_cosell_approved_usd

    from organization_ranges

    inner join revenue_daily
        on organization_ranges.organization_id = revenue_daily.organization_id
        and revenue_daily.date between organization_ranges.range_start and organization_ranges.range_end

    group by organization_ranges.organization_id, organization_ranges.time_range

),

range_totals as (

    select
        organization_ranges.organization_id,
        organization_ranges.time_range,
        organization_ranges.as_of_date,
        organization_ranges.range_start,
        organization_ranges.range_end,
        coalesce(referral_totals.referrals_total, 0) as referrals_total,
        coalesce(referral_totals.referrals_accepted, 0) as referrals_accepted,
        coalesce(referral_totals.referrals_won, 0) as referrals_won,
        coalesce(cosell_totals.cosell_inbound, 0) as cosell_inbound,
        coalesce(cosell_totals.cosell_outbound, 0) as cosell_outbound,
        coalesce(cosell_totals.cosell_accepted, 0) as cosell_accepted,
        coalesce(cosell_totals.cosell_accepted_by_microsoft, 0) as cosell_accepted_by_microsoft,
        coalesce(cosell_totals.cosell_won, 0) as cosell_won,
        coalesce(leads_totals.leads_page_views, 0) as leads_page_views,
        coalesce(leads_totals.leads_cta_clicks, 0) as leads_cta_clicks,
        coalesce(leads_totals.leads_received, 0) as leads_received,
        coalesce(leads_totals.leads_accepted, 0) as leads_accepted,
        coalesce(leads_totals.leads_won, 0) as leads_won,
        coalesce(revenue_totals.revenue_won_usd, 0) as revenue_won_usd,
        coalesce(revenue_totals.revenue_ip_cosell_approved_usd, 0) as revenue_ip_cosell_approved_usd

    from organization_ranges

    left join referral_totals
        on organization_ranges.organization_id = referral_totals.organization_id
        and organization_ranges.time_range = referral_totals.time_range

    left join cosell_totals
        on organization_ranges.organization_id = cosell_totals.organization_id
        and organization_ranges.time_range = cosell_totals.time_range

    left join leads_totals
        on organization_ranges.organization_id = leads_totals.organization_id
        and organization_ranges.time_range = leads_totals.time_range

    left join revenue_totals
        on organization_ranges.organization_id = revenue_totals.organization_id
        and organization_ranges.time_range = revenue_totals.time_range

),

with_rates as (

    select
        *,
        -- ratio of the range's sums, never an average of daily rates
        {{ pct('cosell_won', 'cosell_accepted + cosell_outbound') }} as cosell_win_rate_pct,
        {{ pct('leads_won', 'leads_accepted') }} as leads_win_rate_pct

    from range_totals

),

final as (

    {% for metric in metrics %}
    select
        organization_id,
        as_of_date,
        time_range,
        range_start,
        range_end,
        '{{ metric }}' as metric,
        cast({{ metric }} as double) as value

    from with_rates
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
