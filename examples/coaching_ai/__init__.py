"""Seed 004 (shared/seeds/004-coaching-ai.md) as running services: a Django REST API with JWT auth, a
FastAPI AI coach calling an OpenAI-compatible server, RAG over PostgreSQL, and a Streamlit page.
README.md maps every item of the plan to where it is implemented."""
