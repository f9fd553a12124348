"""Alert annotation templates: which forms the spec accepts, and their expansion as Prometheus 2.42 does it.

The generated promtool tests must state each firing alert's annotations
exactly, so every template form the spec allows is expanded here the way
Prometheus's Go templates do: ``humanize*`` from ``template/template.go`` and
Go's ``fmt`` float verbs (``%v``, ``%.4g``, ``%.2f``...). Anything else is a
spec error, found by :func:`parse_template` when the spec loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

__all__ = [
    "SUPPORTED_TEMPLATES",
    "TEMPLATE_RE",
    "Template",
    "expand",
    "go_float",
    "humanize",
    "humanize_1024",
    "humanize_duration",
    "humanize_percentage",
    "humanize_timestamp",
    "parse_template",
    "template_parts",
]

#: What the spec error lists when a template is not one of these.
SUPPORTED_TEMPLATES = (
    "{{ $value }}, {{ $value | F }} with F one of humanize, humanize1024, humanizeDuration,"
    ' humanizePercentage, humanizeTimestamp, printf "%.2f" (verbs %f %e %g with flags, width, precision),'
    " {{ $labels.NAME }}, {{ $externalLabels.NAME }}"
)
TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)  # trim markers {{- -}} stay unsupported
_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_LABEL_RE = re.compile(rf"^\$(labels|externalLabels)\.({_NAME})$")
_PIPE_RE = re.compile(r'^\$value\s*\|\s*(?:(\w+)|printf\s+"([^"\\]*)")$')
_PRINTF_FIRST_RE = re.compile(r'^printf\s+"([^"\\]*)"\s+\$value$')
_VERB_RE = re.compile(r"%([-+ 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")
_BIG = ("k", "M", "G", "T", "P", "E", "Z", "Y")
_BIG_1024 = ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi")
_SMALL = ("m", "u", "n", "p", "f", "a", "z", "y")


def _special(value: float) -> str | None:
    """Go's spelling of NaN and the infinities (``%v``, ``%g``, ``%f`` alike)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def _go_exponent(text: str) -> str:
    """Python and Go agree on ``e+06``; keep at least two exponent digits either way."""
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{exponent[0]}{int(exponent[1:]):02d}"


def go_float(value: float, precision: int | None = None) -> str:
    """Go's ``%g`` / ``%.Ng``; with no precision also ``%v``, what ``{{ $value }}`` prints.

    Without a precision Go uses the shortest digits that round-trip (Python's
    ``repr``) but switches to an exponent from 1e+06 on, unlike ``repr``.
    """
    special = _special(value)
    if special is not None:
        return special
    if precision is not None:
        return f"{value:.{max(precision, 1)}g}"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exp = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    point = len(text) + exp  # digits before the decimal point
    lead = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return _go_exponent(f"{lead}{mantissa}e{point - 1:+d}")
    if point <= 0:
        return f"{lead}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{lead}{text}{'0' * (point - len(text))}"
    return f"{lead}{text[:point]}.{text[point:]}"


def _scale(value: float, prefixes: tuple[str, ...], step: float) -> tuple[float, str]:
    prefix = ""
    for candidate in prefixes:
        if abs(value) < step:
            break
        prefix, value = candidate, value / step
    return value, prefix


def _shrink(value: float) -> tuple[float, str]:
    prefix = ""
    for candidate in _SMALL:
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return value, prefix


def humanize(value: float) -> str:
    """``humanize``: 1234 → ``1.234k``, 0.0123 → ``12.3m``."""
    if value == 0 or not math.isfinite(value):
        return go_float(value, 4)
    scaled, prefix = _scale(value, _BIG, 1000) if abs(value) >= 1 else _shrink(value)
    return f"{go_float(scaled, 4)}{prefix}"


def humanize_1024(value: float) -> str:
    """``humanize1024``: 1536 → ``1.5ki``; values within ±1 stay as they are."""
    if abs(value) <= 1 or not math.isfinite(value):
        return go_float(value, 4)
    scaled, prefix = _scale(value, _BIG_1024, 1024)
    return f"{go_float(scaled, 4)}{prefix}"


def humanize_duration(value: float) -> str:
    """``humanizeDuration``: 90061 → ``1d 1h 1m 1s``, 0.25 → ``250ms``, 12.5 → ``12.5s``."""
    if not math.isfinite(value):
        return go_float(value, 4)
    if value == 0:
        return f"{go_float(value, 4)}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))  # Go's int64() truncates
        days, hours = whole // 86400, whole // 3600 % 24
        minutes, seconds = whole // 60 % 60, whole % 60
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_float(abs(value), 4)}s"
    scaled, prefix = _shrink(value)
    return f"{go_float(scaled, 4)}{prefix}s"


def humanize_percentage(value: float) -> str:
    """``humanizePercentage``: 0.0123 → ``1.23%``."""
    return f"{go_float(value * 100, 4)}%"


def humanize_timestamp(value: float) -> str:
    """``humanizeTimestamp``: Unix seconds → Go's ``time.Time`` string in UTC, truncated to milliseconds."""
    if not math.isfinite(value):
        return go_float(value, 4)
    nanos = value * 1e9
    if not -(2**63) <= nanos < 2**63:
        raise ValueError(f"{value} cannot be represented as a nanoseconds timestamp")
    whole = int(nanos)  # Go's int64(), then model.TimeFromUnixNano: both truncate toward zero
    millis = -(-whole // 1_000_000) if whole < 0 else whole // 1_000_000
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    fraction = f".{moment.microsecond // 1000:03d}".rstrip("0").rstrip(".")
    return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} +0000 UTC"


_FUNCTIONS: dict[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanize1024": humanize_1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
    "humanizeTimestamp": humanize_timestamp,
}


def _printf(fmt: str, value: float) -> str:
    """Go's ``fmt.Sprintf(fmt, value)`` for one float and the float verbs %e %f %g."""

    def verb(match: re.Match[str]) -> str:
        flags, width, precision, kind = match.groups()
        if kind == "%":
            return "%"
        special = _special(value)
        if special is not None:
            text = special  # Go keeps the sign of +Inf, and never zero-pads these
            if special == "NaN" and ("+" in flags or " " in flags):
                text = ("+" if "+" in flags else " ") + special
            return text.ljust(int(width or 0)) if "-" in flags else text.rjust(int(width or 0))
        if kind == "g" and precision is None:
            text = go_float(value)
            if "+" in flags and value >= 0:
                text = "+" + text
            pad = int(width or 0)
            return text.ljust(pad) if "-" in flags else text.rjust(pad)
        spec = f"%{flags}{width}{'.' + precision if precision is not None else ''}{kind}"
        return spec % value  # Python, like Go, writes at least two exponent digits

    return _VERB_RE.sub(verb, fmt)


def _check_format(fmt: str) -> str | None:
    verbs = [m for m in _VERB_RE.finditer(fmt) if m.group(4) != "%"]
    rest = _VERB_RE.sub("", fmt)
    if len(verbs) != 1 or "%" in rest:
        return f"printf {fmt!r} must have exactly one verb"
    kind = verbs[0].group(4)
    if kind not in "efg":
        return (
            f"printf verb %{kind} cannot format $value, a float (Go prints %!{kind}(float64=...)): use %.0f"
        )
    return None


@dataclass(frozen=True)
class Template:
    """One ``{{ ... }}`` part: where its text comes from and how it is formatted."""

    source: str  # "value", "labels" or "externalLabels"
    name: str = ""  # label name, or the humanize function, or "printf"
    fmt: str = ""  # printf format

    def render(self, value: float, labels: Mapping[str, str], external: Mapping[str, str]) -> str:
        if self.source == "labels":
            return labels.get(self.name, "")
        if self.source == "externalLabels":
            return external.get(self.name, "")
        if self.name == "printf":
            return _printf(self.fmt, value)
        if self.name:
            return _FUNCTIONS[self.name](value)
        return go_float(value)


def parse_template(body: str) -> Template:
    """The inside of one ``{{ ... }}``; ValueError naming the supported forms if tocsin cannot expand it."""
    text = " ".join(body.split())
    if text == "$value":
        return Template("value")
    label = _LABEL_RE.match(text)
    if label:
        return Template(label.group(1), label.group(2))
    pipe = _PIPE_RE.match(text) or _PRINTF_FIRST_RE.match(text)
    if pipe:
        function, fmt = (pipe.group(1), pipe.group(2)) if pipe.re is _PIPE_RE else (None, pipe.group(1))
        if function in _FUNCTIONS:
            return Template("value", function)
        if function is None and fmt is not None:
            problem = _check_format(fmt)
            if problem is None:
                return Template("value", "printf", fmt)
            raise ValueError(problem)
    raise ValueError(f"unsupported template {{{{{body}}}}}")


def template_parts(text: str) -> list[tuple[str, Template | ValueError]]:
    """Every ``{{ ... }}`` of ``text`` with its parse (or the reason it cannot be expanded)."""
    found: list[tuple[str, Template | ValueError]] = []
    for match in TEMPLATE_RE.finditer(text):
        try:
            found.append((match.group(1), parse_template(match.group(1))))
        except ValueError as err:
            found.append((match.group(1), err))
    return found


def expand(
    template: str, value: float, labels: Mapping[str, str], external: Mapping[str, str] | None = None
) -> str:
    """``template`` with its ``{{ ... }}`` parts filled in for one alert, as Prometheus would."""
    ext = external or {}
    return TEMPLATE_RE.sub(lambda m: parse_template(m.group(1)).render(value, labels, ext), template)
