"""Who the workbench records as acting, through the real Jupyter server.

A server with real logins names its users through an identity provider; here
a provider that trusts a header set by an authenticating proxy (a common way to
put a team's JupyterLab behind single sign-on; the proxy itself is not part of
the test: the header is what it would send). Token-only access (the default
server) has no user name: jupyter_server makes up a random id per browser,
and the workbench records the OS user instead.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from mlops_rest import call

pytestmark = pytest.mark.usefixtures("jp_serverapp")


class ProxyIdentity(IdentityProvider):
    """The user a proxy named in `X-Remote-User`. The test client still sends the server's
    token, which authenticates the request (and exempts it from the XSRF check as a
    browser's cookie would not); without the header it is an anonymous token holder."""

    async def get_user(self, handler):  # type: ignore[override]
        user = await self._get_user(handler)
        name = handler.request.headers.get("X-Remote-User")
        if user is not None and name:
            return User(username=name, name=name.title())
        return user


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def _snapshot_as(jp_fetch, user: str | None, name: str) -> dict:
    headers = {"X-Remote-User": user} if user else {}
    code, version = await call(jp_fetch, "datasets", method="POST", headers=headers,
                               body={"path": "data/sales.csv", "name": name})
    assert code == 201, version
    code, detail = await call(jp_fetch, "datasets", name, "versions", version["short"])
    assert code == 200, detail
    return detail


async def _event_as(jp_fetch, user: str | None, message: str) -> dict:
    headers = {"X-Remote-User": user} if user else {}
    code, event = await call(jp_fetch, "events", method="POST", headers=headers,
                             body={"kind": "note", "message": message})
    assert code == 201, event
    return event


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["ServerApp"]["identity_provider_class"] = ProxyIdentity
    return jp_server_config


async def test_each_request_acts_as_its_user(jp_fetch, jp_root_dir: Path) -> None:
    _write(jp_root_dir, "data/sales.csv", "id,amount\n1,10\n2,20\n")
    # the snapshot records the actor deep in the core (`current_actor()`), in a worker thread
    assert (await _snapshot_as(jp_fetch, "ada", "sales"))["actor"] == "ada"
    assert (await _snapshot_as(jp_fetch, "grace", "sales-copy"))["actor"] == "grace"
    assert (await _event_as(jp_fetch, "grace", "checked the copy"))["actor"] == "grace"
    # a token holder without a name: the OS user, never jupyter_server's random id
    anonymous = await _snapshot_as(jp_fetch, None, "sales-anon")
    assert anonymous["actor"] == getpass.getuser()
    assert (await _event_as(jp_fetch, None, "by token"))["actor"] == getpass.getuser()
    # the worker threads do not keep the last request's user
    from jupyter_mlops.core.identity import current_actor

    assert current_actor() == getpass.getuser()
