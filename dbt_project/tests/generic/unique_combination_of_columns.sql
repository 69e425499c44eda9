{#
    The combination of `combination_of_columns` is unique over the model (composite grain).
    Fails with one row per duplicated combination. Portable (plain group by / having).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

duplicated as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences

    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicated

{% endtest %}
