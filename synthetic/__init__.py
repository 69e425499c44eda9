"""Seeded synthetic landing zone (`referral-insights generate`, data/sample): see generator.py.

Its value lists come from `orchestration.contract`, the contract the pipeline validates against.
"""
