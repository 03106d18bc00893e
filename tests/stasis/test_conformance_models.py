"""Conformance, item 2: the models accept what a real Asterisk sends.

Every event of the traces parses into the model of its type, keeping every field;
every REST answer of the traces parses into the model of its operation's Swagger
response class; and the models use exactly Asterisk's field names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ari_app.stasis import events, models
from ari_app.stasis.events import MESSAGE_MODELS, UnknownEvent, parse_event
from tests.stasis.reference import (
    params,
    recording_of,
    recording_params,
    relative_path,
    swagger_models,
    swagger_operation_for,
    trace_lines,
    trace_names,
)

TRACES = trace_names()


def _keys_kept(original: Any, dumped: Any, where: str = "") -> list[str]:
    """Paths of fields of ``original`` missing from ``dumped`` (recursively)."""
    missing = []
    if isinstance(original, dict):
        for key, value in original.items():
            if key not in dumped:
                missing.append(f"{where}.{key}")
            else:
                missing += _keys_kept(value, dumped[key], f"{where}.{key}")
    elif isinstance(original, list):
        for i, (a, b) in enumerate(zip(original, dumped, strict=True)):
            missing += _keys_kept(a, b, f"{where}[{i}]")
    return missing


@pytest.mark.parametrize("trace", params(TRACES, TRACES))
def test_every_trace_event_parses_into_the_model_of_its_type(trace: str) -> None:
    lines = [line for line in trace_lines(trace) if line["kind"] == "event"]
    assert lines, f"{trace} has no event"
    for line in lines:
        event = parse_event(json.dumps(line["event"]))
        assert not isinstance(event, UnknownEvent), (
            f"seq {line['seq']}: no model for {line['type']}"
        )
        assert type(event) is MESSAGE_MODELS[line["type"]]
        dumped = event.model_dump(mode="json", by_alias=True, exclude_unset=True)
        assert _keys_kept(line["event"], dumped) == [], f"seq {line['seq']} lost fields"


# Response classes the client does not model, because the application never asks for them.
UNMODELLED_RESPONSES = {"Module", "Sound", "List[DeviceState]"}


def _model_for(response_class: str) -> tuple[type[BaseModel], bool]:
    is_list = response_class.startswith("List[")
    name = response_class[len("List[") : -1] if is_list else response_class
    return getattr(models, name), is_list


@pytest.mark.parametrize("trace", params(TRACES, TRACES))
def test_every_trace_rest_answer_parses_into_the_model_of_its_operation(trace: str) -> None:
    for line in trace_lines(trace):
        if line["kind"] != "rest" or line["response"] is None or line["status"] >= 300:
            continue
        op = swagger_operation_for(line["method"], relative_path(line), recording_of(trace))
        assert op is not None, f"seq {line['seq']}: {line['method']} {line['path']} unknown"
        if op.response_class in UNMODELLED_RESPONSES:
            continue
        model, is_list = _model_for(op.response_class)
        bodies = line["response"] if is_list else [line["response"]]
        for body in bodies:
            parsed = model.model_validate(body)
            dumped = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
            assert _keys_kept(body, dumped) == [], f"seq {line['seq']} lost fields"


# --- Field names ---------------------------------------------------------------------------

RESOURCE_MODELS = [
    cls
    for cls in vars(models).values()
    if isinstance(cls, type) and issubclass(cls, models.AriModel) and cls is not models.AriModel
]
EVENT_MODELS = list(MESSAGE_MODELS.values())
BASE_FIELDS = {"Event": {"type", "asterisk_id", "application", "timestamp"}}


def _fields(model: type[BaseModel]) -> tuple[set[str], set[str]]:
    """(all field names as Asterisk spells them, required ones)."""
    names = {info.alias or name for name, info in model.model_fields.items()}
    required = {
        info.alias or name for name, info in model.model_fields.items() if info.is_required()
    }
    return names, required


def _swagger_fields(name: str, base: Path) -> tuple[set[str], set[str]]:
    spec = swagger_models(base)[name]["properties"]
    names = set(spec)
    required = {key for key, value in spec.items() if value.get("required")}
    return names, required


@pytest.mark.parametrize("model", params(RESOURCE_MODELS, [m.__name__ for m in RESOURCE_MODELS]))
@pytest.mark.parametrize("base", recording_params())
def test_resource_model_has_asterisks_field_names(model: type[BaseModel], base: Path) -> None:
    names, required = _fields(model)
    swagger_names, swagger_required = _swagger_fields(model.__name__, base)
    assert names == swagger_names
    assert required <= swagger_required, "a field Asterisk may leave out is required"


@pytest.mark.parametrize("model", params(EVENT_MODELS, [m.__name__ for m in EVENT_MODELS]))
@pytest.mark.parametrize("base", recording_params())
def test_event_model_has_asterisks_field_names(model: type[BaseModel], base: Path) -> None:
    names, required = _fields(model)
    own, own_required = _swagger_fields(model.__name__, base)
    message, message_required = _swagger_fields("Message", base)
    inherited: set[str] = set()
    base_required: set[str] = set()
    if issubclass(model, events.Event):
        inherited, base_required = _swagger_fields("Event", base)
    assert names == own | message | inherited
    assert required <= own_required | message_required | base_required


@pytest.mark.parametrize("base", recording_params())
def test_every_asterisk_message_type_has_a_model(base: Path) -> None:
    spec = swagger_models(base)
    expected = set(spec["Event"]["subTypes"]) | (set(spec["Message"]["subTypes"]) - {"Event"})
    assert set(MESSAGE_MODELS) == expected
