"""Request ids for WSGI apps (Flask, any WSGI app): a WSGI middleware.

::

    from tocsin.sdk.logging.wsgi import RequestIdMiddleware
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)      # Flask

The id is bound before the app runs and unbound once the response body is
fully sent (or closed), so lines logged while streaming still carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tocsin.sdk._types import WSGIApp, close_body

from ._request_id import REQUEST_ID_HEADER, bind_request_id, new_request_id, unbind_request_id

__all__ = ["RequestIdMiddleware"]


class RequestIdMiddleware:
    """Binds ``request_id`` per request (``environ["tocsin.request_id"]`` too) and echoes the header."""

    def __init__(self, app: WSGIApp, *, header: str = REQUEST_ID_HEADER) -> None:
        self.app = app
        self.header = header
        self._environ_key = "HTTP_" + header.upper().replace("-", "_")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = new_request_id(environ.get(self._environ_key))
        environ["tocsin.request_id"] = request_id
        lowered = self.header.lower()

        def start_with_id(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [(k, v) for k, v in headers if k.lower() != lowered]
            headers.append((self.header, request_id))
            return start_response(status, headers, exc_info)

        tokens = bind_request_id(request_id)
        try:
            body = self.app(environ, start_with_id)
        except BaseException:
            unbind_request_id(tokens)
            raise
        return _Body(body, lambda: unbind_request_id(tokens))


class _Body:
    """The app's response iterable, unbinding the id when the server closes it (PEP 3333)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close_body(self._body)
        finally:
            try:
                self._done()
            except ValueError:  # closed from another context than the one that bound it
                pass
