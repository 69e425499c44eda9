{#
    The overview widget's batch: each headline number next to what the daily marts sum to over
    the same standard range (int_overview_time_ranges, the ranges the mart is built from), as
    difference_from_daily_marts; the rate's denominator (a rate is NULL exactly when it is 0);
    and the range start the as-of date implies. Rates as in the pct() macro.
#}

with

overview_summary as (

    select * from {{ ref('mart_overview_summary') }}

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

landed as (

    {{ widget_landed_facts('mart_overview_summary', ref('qa_landed_files')) }}

),

referral_sums as (

    select
        time_ranges.time_range,
        referrals_daily.organization_id,
        sum(referrals_daily.referrals_created) as created,
        sum(referrals_daily.referrals_accepted) as accepted,
        sum(referrals_daily.referrals_won) as won

    from time_ranges

    inner join referrals_daily
        on referrals_daily.date between time_ranges.range_start and time_ranges.range_end

    group by time_ranges.time_range, referrals_daily.organization_id

),

cosell_sums as (

    select
        time_ranges.time_range,
        cosell_daily.organization_id,
        sum(cosell_daily.inbound) as inbound,
        sum(cosell_daily.outbound) as outbound,
        sum(cosell_daily.accepted) as accepted,
        sum(cosell_daily.accepted_by_microsoft) as accepted_by_microsoft,
        sum(cosell_daily.won) as won

    from time_ranges

    inner join cosell_daily
        on cosell_daily.date between time_ranges.range_start and time_ranges.range_end

    group by time_ranges.time_range, cosell_daily.organization_id

),

leads_sums as (

    select
        time_ranges.time_range,
        leads_daily.organization_id,
        sum(leads_daily.page_views) as page_views,
        sum(leads_daily.cta_clicks) as cta_clicks,
        sum(leads_daily.leads_received) as received,
        sum(leads_daily.leads_accepted) as accepted,
        sum(leads_daily.leads_won) as won

    from time_ranges

    inner join leads_daily
        on leads_daily.date between time_ranges.range_start and time_ranges.range_end

    group by time_ranges.time_range, leads_daily.organization_id

),

revenue_sums as (

    select
        time_ranges.time_range,
        revenue_daily.organization_id,
        sum(revenue_daily.won_value_usd) as won_usd,
        sum(revenue_daily.ip_cosell_approved_value_usd) as ip_cosell_usd

    from time_ranges

    inner join revenue_daily
        on revenue_daily.date between time_ranges.range_start and time_ranges.range_end

    group by time_ranges.time_range, revenue_daily.organization_id

),

recomputed as (

    select
        overview_summary.organization_id,
        overview_summary.time_range,
        overview_summary.metric,
        case overview_summary.metric
            when 'referrals_total' then coalesce(referral_sums.created, 0)
            when 'referrals_accepted' then coalesce(referral_sums.accepted, 0)
            when 'referrals_won' then coalesce(referral_sums.won, 0)
            when 'cosell_inbound' then coalesce(cosell_sums.inbound, 0)
            when 'cosell_outbound' then coalesce(cosell_sums.outbound, 0)
            when 'cosell_accepted' then coalesce(cosell_sums.accepted, 0)
            when 'cosell_accepted_by_microsoft' then coalesce(cosell_sums.accepted_by_microsoft, 0)
            when 'cosell_won' then coalesce(cosell_sums.won, 0)
            when 'cosell_win_rate_pct' then {{ pct(
                'coalesce(cosell_sums.won, 0)',
                'coalesce(cosell_sums.accepted, 0) + coalesce(cosell_sums.outbound, 0)',
            ) }}
            when 'leads_page_views' then coalesce(leads_sums.page_views, 0)
            when 'leads_cta_clicks' then coalesce(leads_sums.cta_clicks, 0)
            when 'leads_received' then coalesce(leads_sums.received, 0)
            when 'leads_accepted' then coalesce(leads_sums.accepted, 0)
            when 'leads_won' then coalesce(leads_sums.won, 0)
            when 'leads_win_rate_pct' then {{ pct('coalesce(leads_sums.won, 0)', 'coalesce(leads_sums.accepted, 0)') }}
            when 'revenue_won_usd' then coalesce(revenue_sums.won_usd, 0)
            when 'revenue_ip_cosell_approved_usd' then coalesce(revenue_sums.ip_cosell_usd, 0)
        end as daily_marts_value,
        case overview_summary.metric
            when 'cosell_win_rate_pct' then coalesce(cosell_sums.accepted, 0) + coalesce(cosell_sums.outbound, 0)
            when 'leads_win_rate_pct' then coalesce(leads_sums.accepted, 0)
        end as rate_denominator

    from overview_summary

    left join referral_sums
        on overview_summary.organization_id = referral_sums.organization_id
        and overview_summary.time_range = referral_sums.time_range

    left join cosell_sums
        on overview_summary.organization_id = cosell_sums.organization_id
        and overview_summary.time_range = cosell_sums.time_range

    left join leads_sums
        on overview_summary.organization_id = leads_sums.organization_id
        and overview_summary.time_range = leads_sums.time_range

    left join revenue_sums
        on overview_summary.organization_id = revenue_sums.organization_id
        and overview_summary.time_range = revenue_sums.time_range

),

final as (

    select
        overview_summary.*,
        cast(recomputed.rate_denominator as {{ dbt.type_bigint() }}) as rate_denominator,
        overview_summary.value - cast(recomputed.daily_marts_value as double) as difference_from_daily_marts,
        time_ranges.range_start as expected_range_start,
        landed.warehouse_as_of_date,
        landed.feeding_snapshot_age_days,
        landed.feeding_files_failed

    from overview_summary

    left join recomputed
        on overview_summary.organization_id = recomputed.organization_id
        and overview_summary.time_range = recomputed.time_range
        and overview_summary.metric = recomputed.metric

    left join time_ranges
        on overview_summary.time_range = time_ranges.time_range

    cross join landed

)

select * from final
