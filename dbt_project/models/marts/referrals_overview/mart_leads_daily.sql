{#
    Leads widget: per organization x UTC date, page views and CTA clicks summed over the org's
    offers (restated marketplace traffic, every offer whatever its solution status) and the
    leads (marketplace_lead + qualified_lead) received (created), accepted and won that day.
    Sparse. Win rate over a range = 100 * sum(leads_won) / sum(leads_accepted).
#}

with

traffic as (

    select * from {{ ref('int_marketplace_traffic_restated') }}

),

referral_events as (

    select * from {{ ref('int_referral_events') }}

),

traffic_measures as (

    select
        organization_id,
        traffic_date as date,
        page_views,
        cta_clicks,
        0 as leads_received,
        0 as leads_accepted,
        0 as leads_won

    from traffic
    where organization_id <> 'msft'

),

lead_measures as (

    select
        organization_id,
        event_date as date,
        0 as page_views,
        0 as cta_clicks,
        case when event_type = 'created' then 1 else 0 end as leads_received,
        case when event_type = 'accepted' then 1 else 0 end as leads_accepted,
        case when event_type = 'won' then 1 else 0 end as leads_won

    from referral_events
    where referral_kind = 'lead'
        and event_type in ('created', 'accepted', 'won')

),

unioned as (

    select * from traffic_measures
    union all
    select * from lead_measures

),

daily as (

    select
        organization_id,
        date,
        cast(sum(page_views) as {{ dbt.type_bigint() }}) as page_views,
        cast(sum(cta_clicks) as {{ dbt.type_bigint() }}) as cta_clicks,
        cast(sum(leads_received) as {{ dbt.type_bigint() }}) as leads_received,
        cast(sum(leads_accepted) as {{ dbt.type_bigint() }}) as leads_accepted,
        cast(sum(leads_won) as {{ dbt.type_bigint() }}) as leads_won

    from unioned
    group by organization_id, date

),

final as (

    select * from daily
    where page_views + cta_clicks + leads_received + leads_accepted + leads_won > 0

)

select * from final
