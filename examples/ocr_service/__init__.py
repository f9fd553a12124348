"""Seed 000: an OCR service (FastAPI, a worker pool, a Redis queue and cache, Tesseract), monitored by tocsin.

See README.md for what implements each item of the plan, and scenario.yaml for how it is broken.
"""
