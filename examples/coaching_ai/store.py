"""The coaching database on the machine's PostgreSQL: users, workouts (Django's side) and the RAG passages
(the AI service's), in a database of the run's own (``tocsin_coaching_ai_<id>``).

The seed's Azure SQL Server becomes PostgreSQL (the one server here); the tables are plain SQL made by
``setup`` rather than Django migrations, so the Django app, the AI service and the faults share one
schema written in one place.
"""

from __future__ import annotations

import base64
import hashlib
import random

from .._postgres import connect, drop_database, dsn
from .._postgres import create_database as _create

__all__ = ["PASSWORD", "USERS", "connect", "create_database", "drop_database", "dsn", "password_hash"]

#: the demo users (all with PASSWORD): the traffic logs in as them
USERS = [f"athlete{i:02d}" for i in range(1, 21)]
#: the demo users' password: a demo value, never a real one (each run's database is its own)
PASSWORD = "demo-not-a-secret"

SCHEMA = """
CREATE TABLE IF NOT EXISTS coach_user (
    id serial PRIMARY KEY,
    username text UNIQUE NOT NULL,
    password text NOT NULL,                 -- Django's password hash format
    goal text NOT NULL
);
CREATE TABLE IF NOT EXISTS coach_workout (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES coach_user (id),
    kind text NOT NULL,
    minutes integer NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS coach_workout_user ON coach_workout (user_id, done_at DESC);
CREATE TABLE IF NOT EXISTS rag_passage (
    id serial PRIMARY KEY,
    topic text NOT NULL,
    body text NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english', topic || ' ' || body)) STORED
);
CREATE INDEX IF NOT EXISTS rag_passage_search ON rag_passage USING gin (search);
"""

_KINDS = ["run", "bike", "swim", "strength", "yoga", "rowing"]
_PASSAGES = [
    (
        "running",
        "Easy runs should feel conversational: keep the heart rate in zone two for most of the week.",
    ),
    ("running", "Increase weekly running volume by no more than ten percent to avoid overuse injuries."),
    ("recovery", "Sleep and rest days let muscles adapt; plan one full rest day after hard sessions."),
    ("recovery", "Light mobility and stretching on recovery days improve range of motion."),
    ("nutrition", "Eat carbohydrates before long sessions and protein within an hour after training."),
    ("nutrition", "Hydrate before, during and after exercise; add electrolytes for sessions over an hour."),
    (
        "strength",
        "Two strength sessions a week with squats, deadlifts and lunges support endurance training.",
    ),
    ("strength", "Progressive overload: add load or repetitions gradually while keeping good form."),
    ("cycling", "Cadence between eighty and ninety revolutions per minute is efficient for most riders."),
    ("swimming", "Drills that focus on body position and breathing improve swim efficiency quickly."),
    ("motivation", "Set a specific goal with a date, and track every workout to see progress."),
    (
        "plan",
        "A training plan alternates hard and easy days and builds for three weeks before a lighter one.",
    ),
]


def password_hash(password: str, salt: str) -> str:
    """Django's ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` format, at the demo's 1,000 iterations
    (Django's 1,000,000 would cost the brute-force fault a CPU second per try: django_api/hashers.py,
    whose hasher Django's own ``check_password`` reads these with)."""

    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000)
    return f"pbkdf2_sha256$1000${salt}${base64.b64encode(digest).decode()}"


def create_database(database_dsn: str) -> bool:
    """The database if missing, its schema, the demo users with a month of workouts, the passages."""
    created = _create(database_dsn)
    rng = random.Random(4)
    with connect(database_dsn, "coaching-setup", autocommit=False) as conn:
        conn.execute(SCHEMA)
        if conn.execute("SELECT count(*) FROM coach_user").fetchone() == (0,):
            for i, user in enumerate(USERS):
                goal = ["10k under 50 min", "first marathon", "lose 5 kg", "swim 2 km"][i % 4]
                row = conn.execute(
                    "INSERT INTO coach_user (username, password, goal) VALUES (%s, %s, %s) RETURNING id",
                    (user, password_hash(PASSWORD, f"salt{i:04d}"), goal),
                ).fetchone()
                assert row is not None
                conn.cursor().executemany(
                    "INSERT INTO coach_workout (user_id, kind, minutes, done_at)"
                    " VALUES (%s, %s, %s, now() - make_interval(days => %s))",
                    [(row[0], rng.choice(_KINDS), rng.randint(20, 90), d) for d in range(30)],
                )
            conn.cursor().executemany("INSERT INTO rag_passage (topic, body) VALUES (%s, %s)", _PASSAGES)
        conn.commit()
    return created
