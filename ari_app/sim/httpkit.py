"""Routing and request parsing shared by the ARI and the control interfaces of the emulator.

Routing works like Asterisk's resource tree: at each path segment a literal child
wins over a ``{parameter}``; an unknown path is ``404 Resource not found``, a known
one with another method ``405 Invalid method`` with an ``Allow`` header.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ari_app.sim.errors import AriError

log = logging.getLogger(__name__)

METHOD_ORDER = ("GET", "POST", "PUT", "DELETE")
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})


@dataclass
class Reply:
    """A response: status, JSON body (None for no body), reason phrase, extra headers."""

    status: int
    body: Any = None
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> web.Response:
        if self.body is None:
            return web.Response(status=self.status, reason=self.reason, headers=self.headers)
        return web.Response(
            status=self.status,
            reason=self.reason,
            headers=self.headers,
            text=json.dumps(self.body),
            content_type="application/json",
        )


def error_reply(error: AriError) -> Reply:
    return Reply(error.status, error.body(), reason=error.reason)


@dataclass
class Call:
    """One request as handlers see it: path parameters and query (or JSON body) parameters."""

    method: str
    path: dict[str, str]
    query: Mapping[str, list[str]]
    body: Any
    http: web.Request

    def text(self, name: str) -> str | None:
        """The parameter's value, from the JSON body if it is there, else the query string."""
        if isinstance(self.body, dict) and name in self.body:
            value = self.body[name]
            if value is None:
                return None
            if isinstance(value, bool):
                return "true" if value else "false"
            return value if isinstance(value, str) else json.dumps(value)
        values = self.query.get(name)
        return values[-1] if values else None

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise AriError(400, f"Missing parameter {name}")
        return value

    def integer(self, name: str, default: int) -> int:
        value = self.text(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise AriError(400, f"Parameter {name} must be an integer, not {value!r}") from None

    def optional_integer(self, name: str) -> int | None:
        value = self.text(name)
        return None if value is None or value == "" else self.integer(name, 0)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if value is None or value == "":
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise AriError(400, f"Parameter {name} must be true or false, not {value!r}")

    def listing(self, name: str) -> list[str]:
        """A list parameter: repeated, comma separated, or a JSON array in the body."""
        if isinstance(self.body, dict) and isinstance(self.body.get(name), list):
            return [str(v) for v in self.body[name] if str(v)]
        values: list[str] = []
        raw = self.query.get(name, [])
        if isinstance(self.body, dict) and isinstance(self.body.get(name), str):
            raw = [self.body[name]]
        for value in raw:
            values.extend(v for v in value.split(",") if v)
        return values


Response = Reply | web.StreamResponse
Handler = Callable[[Call], Response | Awaitable[Response]]


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    methods: dict[str, Handler] = field(default_factory=dict)


class Router:
    def __init__(self) -> None:
        self._root = _Node()

    def add(self, method: str, path: str, handler: Handler) -> None:
        node = self._root
        for segment in path.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.param is None:
                    node.param = (name, _Node())
                elif node.param[0] != name:
                    raise ValueError(f"route {path}: parameter {name} clashes with {node.param[0]}")
                node = node.param[1]
            else:
                node = node.literal.setdefault(segment, _Node())
        if method in node.methods:
            raise ValueError(f"route {method} {path} defined twice")
        node.methods[method] = handler

    def resolve(self, segments: list[str]) -> tuple[_Node | None, dict[str, str]]:
        node, params = self._root, {}
        for segment in segments:
            if segment in node.literal:
                node = node.literal[segment]
            elif node.param is not None and segment:
                name, node = node.param
                params[name] = segment
            else:
                return None, {}
        return node, params

    @staticmethod
    def allow(node: _Node) -> str:
        return ",".join(["OPTIONS", *(m for m in METHOD_ORDER if m in node.methods)])

    async def dispatch(self, request: web.Request, prefix: str) -> web.StreamResponse:
        """Route ``request`` (whose path starts with ``prefix``) and run its handler."""
        raw = request.raw_path.split("?", 1)[0][len(prefix) :]
        segments = [unquote(s) for s in raw.strip("/").split("/")] if raw.strip("/") else []
        node, params = self.resolve(segments)
        if node is None or not node.methods:
            return error_reply(AriError(404, "Resource not found")).to_response()
        if request.method == "OPTIONS":
            return web.Response(status=204, headers={"Allow": self.allow(node)})
        handler = node.methods.get(request.method)
        if handler is None:
            reply = error_reply(AriError(405, "Invalid method"))
            reply.headers["Allow"] = self.allow(node)
            return reply.to_response()
        try:
            call = Call(
                method=request.method,
                path=params,
                query={k: request.query.getall(k) for k in request.query},
                body=await _json_body(request),
                http=request,
            )
            result: Any = handler(call)
            if inspect.isawaitable(result):
                result = await result
        except AriError as error:
            return error_reply(error).to_response()
        except Exception:
            log.exception("emulator request failed", extra={"path": request.path})
            return Reply(500, {"message": "Internal Server Error"}).to_response()
        if isinstance(result, Reply):
            return result.to_response()
        response: web.StreamResponse = result
        return response


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    try:
        text = await request.text()
    except web.HTTPRequestEntityTooLarge:
        # A clear refusal rather than a 500 with a traceback in the log.
        raise AriError(
            413,
            f"The request body is larger than {request.client_max_size} bytes",
            reason="Request Entity Too Large",
        ) from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise AriError(400, "The request body is not valid JSON") from None
