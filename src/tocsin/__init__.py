"""tocsin: make a monitoring plan real.

instrument (``tocsin.sdk``) → describe (``tocsin.spec``) → compile (``tocsin.compile``)
→ run (``tocsin.stack``) → look (``tocsin.views``).

Importing ``tocsin`` imports nothing heavy; import the part you need.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
