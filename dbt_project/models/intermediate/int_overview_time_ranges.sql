{#
    The standard time ranges of the overview: for N in 1, 3, 6, 12 months, the days in
    (as_of_date - N months, as_of_date], month arithmetic clamping to the month end. No row
    before any referral file was loaded (no as-of date).
#}

{%- set range_months = [1, 3, 6, 12] %}

with

warehouse_as_of as (

    select * from {{ ref('int_warehouse_as_of') }}

),

time_ranges as (

    {% for months in range_months %}
    select
        '{{ months }}M' as time_range,
        {{ months }} as range_months,
        as_of_date,
        -- first included day = as_of - N months (clamped to the month end) + 1 day
        cast({{ dbt.dateadd('day', 1, shift_months('as_of_date', -months)) }} as date) as range_start,
        as_of_date as range_end

    from warehouse_as_of
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from time_ranges
