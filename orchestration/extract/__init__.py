"""Extraction from the Partner Center APIs into the landing zone (spec: extract.md).

No Dagster here: `orchestration/defs/extract.py` wraps these functions in assets, `bench/extract.py`
and the tests call them directly.
"""
