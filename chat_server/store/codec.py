"""The client decodes replies to ``str``; these helpers give mypy the same certainty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_str(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def str_dict(mapping: Mapping[Any, Any] | None) -> dict[str, str]:
    return {as_str(k): as_str(v) for k, v in (mapping or {}).items()}
