"""The ``make demo`` example: an instrumented FastAPI shop with traffic, scraped by a real Prometheus."""
