"""Operating a refresh: incident alerts, the `status` report and retention of what runs leave
behind. Library code only (no Dagster decorators); the sensors and assets live in
orchestration/defs/alerts.py and orchestration/defs/operations.py."""
