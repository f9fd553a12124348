"""Redaction of credentials from text that leaves the process."""

from __future__ import annotations

import pytest

from tocsin.sdk.health import MASK, dsn_secrets, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("could not connect to postgresql://app:s3cret@127.0.0.1:1/db", "s3cret"),
        ('URI: "postgresql://app:s3cret@[127.0.0.1/db"', "s3cret"),
        ("redis://:s3cret@cache:6379/0 refused", "s3cret"),
        ("redis://s3cret@cache:6379/0 refused", "s3cret"),
        ("host=db user=app password=s3cret dbname=x", "s3cret"),
        ("password='s3cret' rejected", "s3cret"),
        ('{"password": "s3cret"}', "s3cret"),
        ("GET https://api.example/v1?api_key=s3cret&x=1 failed", "s3cret"),
        ("https://x/y?access_token=s3cret&sig=abcdef", "s3cret"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.s3cret", "s3cret"),
        ("X-Api-Key: s3cret", "s3cret"),
        ("db_password=s3cret", "s3cret"),
    ],
)
def test_patterns_mask_the_secret(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MASK in out


def test_known_secrets_are_cut_wherever_they_appear() -> None:
    # A driver quoting the password on its own: no pattern can know it is one.
    out = redact("authentication failed for 'p@ss:w/rd'", ["p@ss:w/rd"])
    assert out == f"authentication failed for '{MASK}'"
    assert "p%40ss" not in redact("dsn ...p%40ss...", ["p@ss"])


def test_ordinary_text_is_left_alone() -> None:
    text = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    assert redact(text) == text
    assert redact("duplicate key value violates unique constraint") == (
        "duplicate key value violates unique constraint"
    )


def test_dsn_secrets() -> None:
    assert dsn_secrets("postgresql://app:s%2Fcret@h/db") == ("s%2Fcret", "s/cret")
    assert dsn_secrets("redis://tok3n@h:6379") == ("tok3n",)
    assert dsn_secrets("https://h/x?api_key=k3y&page=2") == ("k3y",)
    assert dsn_secrets("postgresql://app:s3cret@[h/db") == ("s3cret",)  # unparsable, still found
    assert dsn_secrets("postgresql://app@h/db") == ()
