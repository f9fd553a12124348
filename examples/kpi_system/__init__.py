"""Seed 001, the KPI system: ETL with quality scoring, anomaly detection, a WebSocket broadcaster and
API-key security, on PostgreSQL, monitored as its plan says.

``python -m examples.kpi_system --help`` lists the commands; README.md maps every item of the plan
to where it is implemented.
"""
