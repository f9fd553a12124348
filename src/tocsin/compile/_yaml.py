"""YAML output that Prometheus and Alertmanager (Go, YAML 1.1 rules) read back exactly as meant.

Key order is kept as built (so diffs of golden files stay readable) and every
string a YAML 1.1 parser would turn into a bool, null or number (``on``,
``no``, ``12:30``, ``0x1f``) is quoted.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter

__all__ = ["dump_yaml"]

_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~"
    r"|[-+]?(?:\.?[0-9][0-9_:.]*(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|\.inf|\.nan)|)$"
)


def _represent_str(representer: RoundTripRepresenter, data: str) -> Any:
    style = "'" if _AMBIGUOUS.match(data) else None
    return representer.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(str, _represent_str)
    return yaml


_YAML = _yaml()


def dump_yaml(data: Any, *, header: str = "") -> str:
    """``data`` as block YAML; ``header`` becomes leading ``#`` comment lines."""
    out = io.StringIO()
    for line in header.splitlines():
        out.write(f"# {line}".rstrip() + "\n")
    _YAML.dump(data, out)
    return out.getvalue()
