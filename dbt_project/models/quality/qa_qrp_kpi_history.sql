-- The QRP history widget's batch: each report's window ends with the month of its as_of_date.
{{ qrp_quality_batch(
    'mart_qrp_kpi_history',
    ['organization_id', 'as_of_date', 'program', 'month'],
    'mart.as_of_date',
) }}
