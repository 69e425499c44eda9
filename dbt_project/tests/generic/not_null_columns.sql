{#
    None of `columns` holds a NULL. One scan counts the NULLs of every column; fails with one row
    per column that has any (column_name, null_rows). The per-model form of `not_null` for the
    intermediate tables: one dbt node and one Dagster check per model instead of one per column
    (each node costs a refresh ~25 ms however small its query, issue 6), with the same verdict.
#}
{% test not_null_columns(model, columns) %}

with

null_counts as (

    select
        {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}

    from {{ model }}

),

offending as (

    {%- for column in columns %}
    select '{{ column }}' as column_name, {{ column }} as null_rows
    from null_counts
    where {{ column }} > 0
    {{ "union all" if not loop.last }}
    {%- endfor %}

)

select * from offending

{% endtest %}
