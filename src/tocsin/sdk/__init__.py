"""The in-app half of tocsin: what a monitored service imports.

Import the part you need (``tocsin.sdk.metrics``, ``tocsin.sdk.http``, ...).
Importing ``tocsin.sdk`` pulls in nothing but the standard library: the
compiler, the stack and the views are never imported from here.
"""

from __future__ import annotations

__all__: list[str] = []
