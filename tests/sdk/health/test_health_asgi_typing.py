"""The documented ``app.add_middleware(HealthMiddleware, health=health)`` type-checks under mypy --strict.

Starlette types ``add_middleware`` with a ParamSpec: a middleware whose ``__init__`` took a
keyword-only ``health`` and then ``**config: Any`` was rejected ("incompatible type
type[HealthMiddleware]"), so every user running mypy on the one obvious way got an error. The options
are a TypedDict now (mypy accepts that form, as it does PrometheusMiddleware's); these tests keep it
so and keep the TypedDict in step with EndpointConfig, without running mypy (a minute here).
"""

from __future__ import annotations

import inspect
import typing

from tocsin.sdk.health._endpoint import EndpointConfig, EndpointOptions
from tocsin.sdk.health.asgi import HealthMiddleware, health_app


def _keyword_options(fn: object) -> str:
    (var_keyword,) = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.VAR_KEYWORD  # type: ignore[arg-type]
    ]
    return str(var_keyword.annotation)


def test_the_adapters_take_the_typed_options_not_any() -> None:
    assert _keyword_options(HealthMiddleware.__init__) == "Unpack[EndpointOptions]"
    assert _keyword_options(health_app) == "Unpack[EndpointOptions]"


def test_the_options_are_exactly_endpoint_configs_keywords() -> None:
    keywords = {
        name
        for name, p in inspect.signature(EndpointConfig.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(typing.get_type_hints(EndpointOptions)) == keywords
