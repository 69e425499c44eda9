"""The dbt semantic layer (MetricFlow metric definitions) as data for the Python side."""
