{#
    Every row satisfies `<column> <expression>` (column-level) or `<expression>` (model-level),
    optionally only the rows matching `where`-config. Fails with the offending rows.
#}
{% test expression_is_true(model, expression, column_name=none) %}

with

offending as (

    select *
    from {{ model }}
    where not (
        {% if column_name is not none %}{{ column_name }} {% endif %}{{ expression }}
    )

)

select * from offending

{% endtest %}
