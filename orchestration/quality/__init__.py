"""Data quality of the widget marts with Great Expectations 1.x (no Dagster here).

widgets.py        the widget registry: widget name, mart, feeding sources, grain
batches.py        reads the dbt models of schema `quality` (batches, landed-data facts) and the
                  expectation parameters; their SQL is in dbt_project/models/quality/
gx_project.py     the suites in expectations/ and the ephemeral GX context a refresh uses
validation.py     the runner: every batch against its suite, statuses, Data Docs
widget_refresh.py marts.mart_widget_refresh and quality.gx_validation_results (write, read)
refresh_summary.py what the refresh summary prints
"""
