"""Every route of the handler table refuses unauthenticated requests.

The table in `jupyter_mlops.server.routes` is walked, so a route added later
without `@tornado.web.authenticated` fails these tests (and so the build).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops.server
from jupyter_mlops.server.base import MLOpsHandler
from jupyter_mlops.server.routes import ROUTES

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def implemented_methods(handler: type) -> list[str]:
    return [m for m in HTTP_METHODS
            if any(m in vars(cls) for cls in handler.__mro__ if issubclass(cls, MLOpsHandler))]


def route_methods() -> list[tuple[str, str]]:
    return [(route.example_path, method) for route in ROUTES
            for method in implemented_methods(route.handler)]


def is_authenticated(fn) -> bool:
    """tornado.web.authenticated wraps the method in its own `wrapper`."""
    code = getattr(fn, "__code__", None)
    return (code is not None and code.co_name == "wrapper"
            and code.co_filename.replace("\\", "/").endswith("tornado/web.py")
            and hasattr(fn, "__wrapped__"))


def all_handler_classes() -> set[type]:
    for module in pkgutil.walk_packages(jupyter_mlops.server.__path__, "jupyter_mlops.server."):
        importlib.import_module(module.name)
    found: set[type] = set()
    stack = [MLOpsHandler]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found.add(sub)
            stack.append(sub)
    return {c for c in found if not inspect.isabstract(c) and implemented_methods(c)}


def test_every_method_of_every_route_is_decorated() -> None:
    for route in ROUTES:
        for method in implemented_methods(route.handler):
            assert is_authenticated(getattr(route.handler, method)), (
                f"{route.handler.__name__}.{method} lacks @tornado.web.authenticated")


def test_every_handler_class_is_in_the_table() -> None:
    tabled = {route.handler for route in ROUTES}
    missing = {c.__name__ for c in all_handler_classes()} - {c.__name__ for c in tabled}
    assert not missing, f"handlers outside the route table: {missing}"


def test_every_method_is_documented() -> None:
    for route in ROUTES:
        assert set(implemented_methods(route.handler)) == set(route.handler.operations), (
            route.pattern)


@pytest.mark.usefixtures("jp_serverapp")
@pytest.mark.parametrize(("path", "method"), route_methods())
async def test_unauthenticated_requests_are_refused(jp_fetch, path: str, method: str) -> None:
    body = "{}" if method in ("post", "put", "patch") else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", path, method=method.upper(), body=body,
                       headers={"Authorization": ""}, allow_nonstandard_methods=True)
    assert info.value.code == 403


@pytest.mark.usefixtures("jp_serverapp")
@pytest.mark.parametrize(("path", "method"), route_methods())
async def test_a_wrong_token_is_refused(jp_fetch, path: str, method: str) -> None:
    body = "{}" if method in ("post", "put", "patch") else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", path, method=method.upper(), body=body,
                       headers={"Authorization": "token not-the-token"},
                       allow_nonstandard_methods=True)
    assert info.value.code == 403
