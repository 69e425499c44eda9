{#
    MetricFlow's time spine: one row per day. The range covers any date the marts can hold
    (snapshots since 2015, deal dates up to 2040); ~9,500 rows, built on DuckDB and Spark alike.
#}

with

days as (

    {{ dbt.date_spine('day', "cast('2015-01-01' as date)", "cast('2041-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
