"""A small blocking client of the API, for the command line.

Every failure becomes ``ApiClientError`` with one line a person can act on: the API's own
sentence for a 4xx or 5xx, or what went wrong reaching it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ari_app.api.routes import PREFIX

DEFAULT_TIMEOUT_S = 10.0


class ApiClientError(Exception):
    """The API could not be used; the message is one line saying why.

    ``status`` is the HTTP status when the API answered, ``error_id`` its error id.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        error_id: str | None = None,
        details: tuple[tuple[str, str], ...] = (),
    ):
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        # (location, message) of each invalid field, such as ("query.limit", "must be ...").
        self.details = details


class ApiClient:
    """Calls ``{base_url}/api/v1/...`` with a bearer token."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s

    def get(self, path: str, query: dict[str, str | int | bool | None] | None = None) -> Any:
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        suffix = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._request("GET", f"{path}{suffix}", None)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("PUT", path, body)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, body)

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        url = f"{self.base_url}{PREFIX}{path}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self._token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise _answer_error(error) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise ApiClientError(
                f"cannot reach the API at {self.base_url}: {reason} "
                "(is ari-app running? is ARI_APP_API_URL right?)"
            ) from None
        except json.JSONDecodeError:
            raise ApiClientError(
                f"the server at {self.base_url} did not answer JSON: is ARI_APP_API_URL "
                "the ari-app API?"
            ) from None


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _answer_error(error: urllib.error.HTTPError) -> ApiClientError:
    try:
        body = json.loads(error.read() or b"{}")
    except (json.JSONDecodeError, OSError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    error_id = body.get("error_id") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = f"the API answered {error.code} {error.reason}"
    if error.code == 401:
        message += " (set ARI_APP_API_TOKEN to a token from 'ari-app token create')"
    return ApiClientError(
        message,
        status=error.code,
        error_id=error_id if isinstance(error_id, str) else None,
        details=_details(body.get("details") if isinstance(body, dict) else None),
    )


def _details(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        (d["location"], d["message"])
        for d in value
        if isinstance(d, dict)
        and isinstance(d.get("location"), str)
        and isinstance(d.get("message"), str)
    )
