{#
    Duration buckets of the time-distribution marts. `buckets` is a list of
    (label, lower bound in days) in ascending order; a duration falls in the last bucket whose
    lower bound it reaches (lower bound inclusive, compared on exact elapsed seconds, so exactly
    24 h is not "< 1 day"). The first bucket also takes anything below its bound.
    Emits two columns: `bucket` (label) and `bucket_order` (1-based position).
#}
{% macro duration_bucket_columns(seconds_expr, buckets) -%}
    case
        {% for label, lower_bound_days in buckets[1:] | reverse -%}
        when {{ seconds_expr }} >= {{ lower_bound_days }} * 86400 then '{{ label }}'
        {% endfor -%}
        else '{{ buckets[0][0] }}'
    end as bucket,
    case
        {% for label, lower_bound_days in buckets[1:] | reverse -%}
        when {{ seconds_expr }} >= {{ lower_bound_days }} * 86400 then {{ buckets | length - loop.index0 }}
        {% endfor -%}
        else 1
    end as bucket_order
{%- endmacro %}
