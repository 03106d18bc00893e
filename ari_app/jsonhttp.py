"""Serving an aiohttp application whose every error is JSON, the ones aiohttp answers itself
included.

aiohttp refuses some requests before any handler or middleware runs (a request line or a
header over 8 KiB, a request that is not HTTP) and answers them in plain text; a client that
was promised JSON errors then fails to read the answer. ``JsonErrorRunner`` serves an
application like ``web.AppRunner`` and answers those with a JSON body of the caller's shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

# (status, sentence) -> the JSON body of an error, in the application's own shape.
ErrorShape = Callable[[int, str], Mapping[str, Any]]


def refusal_sentence(status: int, error: BaseException | None) -> str:
    """What is wrong with a request aiohttp refused before routing, said for a person."""
    if isinstance(error, LineTooLong):
        limit = error.args[1] if len(error.args) > 1 else "8190"
        return (
            f"the request line or a header is longer than {limit} bytes: send a shorter URL "
            "or header"
        )
    if isinstance(error, BadHttpMessage):
        return "the request is not valid HTTP"
    if status == 504:
        return "the server took too long to handle this request"
    return "the server failed to handle this request; the failure is logged"


def _handler_class(error_body: ErrorShape) -> type[web.RequestHandler]:
    class JsonErrorHandler(web.RequestHandler):
        def handle_error(
            self,
            request: web.BaseRequest,
            status: int = 500,
            exc: BaseException | None = None,
            message: str | None = None,
        ) -> web.StreamResponse:
            # aiohttp's own answer first: it logs the failure and refuses when a response
            # was already under way.
            super().handle_error(request, status, exc, message)
            response = web.Response(
                status=status,
                text=json.dumps(error_body(status, refusal_sentence(status, exc))),
                content_type="application/json",
            )
            response.force_close()
            return response

    return JsonErrorHandler


class JsonErrorRunner(web.AppRunner):
    """``web.AppRunner`` whose answers to requests refused before routing are JSON."""

    def __init__(self, app: web.Application, error_body: ErrorShape, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._handler = _handler_class(error_body)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        handler = self._handler

        class JsonErrorServer(web.Server):
            def __call__(self) -> web.RequestHandler:
                return handler(self, loop=self._loop, **self._kwargs)

        # aiohttp has no setting for the class of its connection handlers: the server it
        # built (with the application's settings) is given one that makes ours.
        server.__class__ = JsonErrorServer
        return server
