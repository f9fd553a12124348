"""Seed 002 — eBook Scene Packer v2: a Flask app on PostgreSQL and Redis, served by gunicorn, monitored
by tocsin (README.md maps every item of the plan to where it is implemented)."""
