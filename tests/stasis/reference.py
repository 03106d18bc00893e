"""Access to Asterisk's reference data: the Swagger specs and the recorded traces
(see tests/reference_dir.py for where they are)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.reference_dir import recording_name, reference_dir, reference_dirs

REFERENCE = reference_dir()


# --- Swagger ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwaggerOperation:
    resource: str
    nickname: str
    method: str
    path: str
    params: dict[str, dict[str, Any]]
    response_class: str

    @property
    def path_regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path))
        return re.compile(f"^{pattern}$")

    def names(self, param_type: str) -> set[str]:
        return {name for name, p in self.params.items() if p["paramType"] == param_type}


@cache
def swagger_resources(base: Path | None = None) -> dict[str, dict[str, Any]]:
    """Each ``api-docs/<resource>.json`` except resources.json, by resource name, of the
    recording in ``base`` (the first one by default)."""
    docs = (base or reference_dir()) / "api-docs"
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted(docs.glob("*.json"))
        if path.stem != "resources"
    }


@cache
def swagger_operations(base: Path | None = None) -> tuple[SwaggerOperation, ...]:
    found = []
    for resource, doc in swagger_resources(base).items():
        for api in doc.get("apis", []):
            for op in api["operations"]:
                found.append(
                    SwaggerOperation(
                        resource=resource,
                        nickname=op["nickname"],
                        method=op["httpMethod"],
                        path=api["path"],
                        params={p["name"]: p for p in op.get("parameters", [])},
                        response_class=op.get("responseClass", "void"),
                    )
                )
    return tuple(found)


def swagger_operation_for(
    method: str, path: str, base: Path | None = None
) -> SwaggerOperation | None:
    """The Swagger operation a concrete request (path relative to /ari) falls under.

    A literal segment beats a placeholder (``/channels/create`` is not ``/channels/{id}``).
    """
    matches = [
        op for op in swagger_operations(base) if op.method == method and op.path_regex.match(path)
    ]
    if not matches:
        return None
    return min(matches, key=lambda op: op.path.count("{"))


@cache
def swagger_models(base: Path | None = None) -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for doc in swagger_resources(base).values():
        models.update(doc.get("models", {}))
    return models


# --- Traces -------------------------------------------------------------------------------


def _recordings() -> dict[str, Path]:
    return {recording_name(base): base for base in reference_dirs()}


@cache
def trace_files() -> tuple[Path, ...]:
    return tuple(
        path for base in reference_dirs() for path in sorted((base / "traces").glob("*.jsonl"))
    )


def recording_of(name: str) -> Path:
    """The reference directory of a trace named ``<recording>/<file>``."""
    return _recordings()[name.partition("/")[0]]


@cache
def trace_lines(name: str) -> tuple[dict[str, Any], ...]:
    """The lines of the trace ``<recording>/<file>`` (e.g. ``asterisk-22/i-errors.jsonl``)."""
    recording, _, file = name.partition("/")
    path = _recordings()[recording] / "traces" / file
    return tuple(json.loads(line) for line in path.read_text().splitlines() if line.strip())


def trace_names() -> list[str]:
    """The traces of every recording, as ``<recording>/<file>``."""
    return [
        f"{name}/{path.name}"
        for name, base in _recordings().items()
        for path in sorted((base / "traces").glob("*.jsonl"))
    ]


def recording_params() -> list[Any]:
    """The reference directories as test parameters named after their recording."""
    return [pytest.param(base, id=name) for name, base in _recordings().items()]


def params(values: list[Any], ids: list[str] | None = None) -> list[Any]:
    """Parametrize values with readable ids."""
    return [pytest.param(value, id=ids[i] if ids else None) for i, value in enumerate(values)]


def all_lines(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, line) for name in trace_names() for line in trace_lines(name) if line["kind"] == kind
    ]


def relative_path(line: dict[str, Any]) -> str:
    """A REST line's path without the ``/ari`` prefix."""
    path: str = line["path"]
    assert path.startswith("/ari/"), path
    return path[len("/ari") :]
