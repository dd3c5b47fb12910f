"""Shared REST helper for the route tests: one way to call the extension and read its answer.

Why a plain module and not a fixture: every route test already receives `jp_fetch`, and an
error answer is as much a result as a success (tests assert on 4xx bodies), so `call` returns
`(status, json)` instead of raising.
"""

from __future__ import annotations

import json

from tornado.httpclient import HTTPClientError


async def call(jp_fetch, *parts: str, method: str = "GET", body=None,
               **kwargs) -> tuple[int, dict]:
    """Fetch `/jupyter-mlops/<parts>` and return `(status, decoded JSON body)`.

    `body` may be a dict (sent as JSON) or a string (sent as is, e.g. malformed JSON). A POST,
    PUT or PATCH without a body sends an empty one, as a browser would. The timeout is long
    because some routes (deploying a model) start real processes.
    """
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    if method in ("POST", "PUT", "PATCH") and body is None:
        body = ""
    kwargs.setdefault("request_timeout", 300)
    try:
        response = await jp_fetch("jupyter-mlops", *parts, method=method, body=body,
                                  allow_nonstandard_methods=True, **kwargs)
    except HTTPClientError as exc:
        return exc.code, json.loads(exc.response.body)
    return response.code, json.loads(response.body)
