{#
    The warehouse as-of date: the latest readable referral snapshot date. One row, or no row at
    all before any referral file was loaded, so every mart that cross-joins it is then empty.
#}

with

snapshot_dates as (

    select * from {{ ref('int_referral_snapshot_dates') }}

),

latest as (

    select max(snapshot_date) as as_of_date
    from snapshot_dates

),

final as (

    select as_of_date
    from latest
    where as_of_date is not null

)

select * from final
