"""The settings every test Django site starts from (each runs in its own process: ``settings.configure``
is once per interpreter)."""

from __future__ import annotations

from typing import Any


def configure(urlconf: str, **extra: Any) -> None:
    """``settings.configure`` for a minimal site with its URLs in module ``urlconf``, then setup."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        ROOT_URLCONF=urlconf,
        ALLOWED_HOSTS=["127.0.0.1"],
        SECRET_KEY="django-test-site-key-not-used-for-anything",
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        **extra,
    )
    django.setup()
