{#
    Custom schemas are used verbatim: staging models land in `staging`, intermediates in
    `intermediate`, marts in `marts`, seeds in `reference` (dbt's default would prefix them with
    the target schema, e.g. `main_marts`). Nodes without a custom schema use the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
