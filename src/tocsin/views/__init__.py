"""Everything a person looks at, from one dashboard model: the console (web) and ``tocsin top`` (terminal).

:func:`tocsin.views.model.build_model` turns a loaded spec into the plain-JSON view model
(:mod:`tocsin.views._schema`, whose file name, version, type and reader this package exports for the CLI
and the console process: orjson and typing only, no pydantic); :mod:`tocsin.views.data` computes what each
panel shows from Prometheus.
"""

from __future__ import annotations

from tocsin.views._schema import MODEL_FILE, MODEL_VERSION, ViewModel, read_model

__all__ = ["MODEL_FILE", "MODEL_VERSION", "ViewModel", "read_model"]
