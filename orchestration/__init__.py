"""The Dagster code location (`definitions.py`, `defs/`) and the pipeline library it drives
(`extract/`, `ingestion/`, `quality/`, `serving/`, `operations/`, `semantic/`, `spark/`).

The dashboard, the synthetic generator and the API sandbox are packages beside this one: they
import it, it never imports them (docs/architecture.md).
"""
