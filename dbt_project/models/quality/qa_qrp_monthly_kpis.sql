-- The QRP performance widget's batch: the report window ends with the warehouse as-of month.
{{ qrp_quality_batch(
    'mart_qrp_monthly_kpis',
    ['organization_id', 'program', 'month'],
    'landed.warehouse_as_of_date',
) }}
