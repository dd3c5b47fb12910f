"""`jupyter mlops webhooks …`: the terminal surface of notifications.

    jupyter mlops webhooks list
    jupyter mlops webhooks add NAME URL --events PATTERN [--events PATTERN]...
                               [--format json|slack] [--secret S | --secret-env VAR]
    jupyter mlops webhooks remove NAME
    jupyter mlops webhooks enable NAME | disable NAME
    jupyter mlops webhooks test NAME              # posts a notify.test event now
    jupyter mlops webhooks deliveries NAME [--limit N]

A PATTERN is an event kind (`monitor.alert`), a dotted prefix (`deploy`),
`kind=status` (`pipeline.run=failed`) or `*`. Every command takes
`--workspace/-w` and `--json`. Exit codes: 0 success, 1 bad input (an unknown
webhook names the existing ones) or a test post the endpoint did not accept,
3 a state DB that does not answer. Thin adapters over `jupyter_mlops.core.notify`;
the delivery itself runs in the Jupyter server or `jupyter mlops scheduler`.
`add_notify_commands(sub, with_workspace)` registers all of this on the main parser.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from .cli_common import open_workspace
from .core.errors import InvalidInput
from .render import print_json, text_table, when

EXIT_TEST_FAILED = 1
ERROR_CHARS = 48




def _short(text: str | None, width: int = ERROR_CHARS) -> str:
    if not text:
        return "-"
    return text if len(text) <= width else text[:width - 1] + "…"


def _hook_line(hook: Any) -> str:
    signed = ", signed" if hook.has_secret else ""
    state = "" if hook.enabled else " (disabled)"
    return (f"webhook {hook.name}{state}: {', '.join(hook.events)} → "
            f"{hook.to_dict()['url']} ({hook.format}{signed})")


# -- commands -------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from .core.notify import list_webhooks

    with open_workspace(args) as ws:
        hooks = list_webhooks(workspace=ws)
    if args.json:
        print_json([h.to_dict() for h in hooks])
        return 0
    if not hooks:
        print("no webhooks yet: jupyter mlops webhooks add NAME URL --events monitor.alert")
        return 0
    rows = [(h.name, "yes" if h.enabled else "no", h.format, ", ".join(h.events),
             "yes" if h.has_secret else "no", h.last_event_id, h.failures,
             _short(h.last_error), h.to_dict()["url"]) for h in hooks]
    print(text_table(("NAME", "ENABLED", "FORMAT", "EVENTS", "SIGNED", "CURSOR", "FAILURES",
                      "LAST ERROR", "URL"), rows, right=("CURSOR", "FAILURES")))
    return 0


def _secret(args: argparse.Namespace) -> str | None:
    if args.secret_env is None:
        return args.secret
    value = os.environ.get(args.secret_env)
    if not value:
        raise InvalidInput(f"--secret-env {args.secret_env}: that environment variable is "
                           f"not set or empty.")
    return value


def cmd_add(args: argparse.Namespace) -> int:
    from .core.notify import add_webhook

    with open_workspace(args) as ws:
        hook = add_webhook(args.name, args.url, args.events, format=args.format,
                           secret=_secret(args), workspace=ws)
    if args.json:
        print_json(hook.to_dict())
    else:
        print(f"{_hook_line(hook)}; events after #{hook.last_event_id} are posted")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .core.notify import remove_webhook

    with open_workspace(args) as ws:
        remove_webhook(args.name, workspace=ws)
    if args.json:
        print_json({"name": args.name, "removed": True})
    else:
        print(f"webhook {args.name} removed")
    return 0


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    from .core.notify import update_webhook

    with open_workspace(args) as ws:
        hook = update_webhook(args.name, enabled=enabled, workspace=ws)
    if args.json:
        print_json(hook.to_dict())
    else:
        print(f"webhook {hook.name} {'enabled' if enabled else 'disabled'} "
              f"(cursor at event #{hook.last_event_id})")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from .core.notify import test_webhook

    with open_workspace(args) as ws:
        result = test_webhook(args.name, timeout=args.timeout, workspace=ws)
    if args.json:
        print_json(result)
    elif result["ok"]:
        print(f"{args.name}: HTTP {result['status_code']} in {result['ms']:.0f} ms")
    if not result["ok"]:
        print(f"error: the test post to {args.name} failed: {result['error']}", file=sys.stderr)
        return EXIT_TEST_FAILED
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    from .core.notify import list_deliveries

    with open_workspace(args) as ws:
        found = list_deliveries(args.name, args.limit, workspace=ws)
    if args.json:
        print_json([d.to_dict() for d in found])
        return 0
    if not found:
        print(f"no deliveries to {args.name} yet")
        return 0
    rows = [(when(d.ts), d.event_id if d.event_id is not None else "-",
             d.kind, d.status_code if d.status_code is not None else "-",
             "ok" if d.ok else "failed", f"{d.ms:.0f}" if d.ms is not None else "-",
             _short(d.error)) for d in found]
    print(text_table(("TIME (UTC)", "EVENT", "KIND", "STATUS", "RESULT", "MS", "ERROR"), rows,
                     right=("EVENT", "STATUS", "MS")))
    return 0


# -- registration ---------------------------------------------------------------------------
def add_notify_commands(sub: Any, with_workspace: Callable[[argparse.ArgumentParser],
                                                           argparse.ArgumentParser]) -> None:
    """Register `webhooks …` on the `jupyter mlops` sub-parsers."""
    webhooks = sub.add_parser("webhooks", help="post drift alerts, failed runs, rollbacks… "
                                               "to webhooks (Slack, Teams, your own)")
    wsub = webhooks.add_subparsers(dest="webhooks_command", metavar="COMMAND")
    webhooks.set_defaults(func=lambda _args: (webhooks.print_help(), 0)[1])

    with_workspace(wsub.add_parser("list", help="the webhooks and their delivery state")
                   ).set_defaults(func=cmd_list)

    add = with_workspace(wsub.add_parser("add", help="add a webhook (it hears events from now)"))
    add.add_argument("name")
    add.add_argument("url", help="http:// or https:// endpoint")
    add.add_argument("--events", "-e", action="append", required=True, metavar="PATTERN",
                     help="a kind (monitor.alert), a prefix (deploy), kind=status "
                          "(pipeline.run=failed) or '*'; repeatable")
    add.add_argument("--format", choices=("json", "slack"), default="json",
                     help="json: the event; slack: {\"text\": one line} (default json)")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--secret", default=None,
                        help="sign each post (X-MLOps-Signature: sha256=<HMAC of the body>)")
    secret.add_argument("--secret-env", default=None, metavar="VAR",
                        help="read the secret from this environment variable instead")
    add.set_defaults(func=cmd_add)

    remove = with_workspace(wsub.add_parser("remove", help="remove a webhook"))
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)

    enable = with_workspace(wsub.add_parser("enable", help="resume posting where it stopped"))
    enable.add_argument("name")
    enable.set_defaults(func=lambda args: _set_enabled(args, True))

    disable = with_workspace(wsub.add_parser("disable", help="stop posting (the cursor stays)"))
    disable.add_argument("name")
    disable.set_defaults(func=lambda args: _set_enabled(args, False))

    test = with_workspace(wsub.add_parser("test", help="post a notify.test event now"))
    test.add_argument("name")
    test.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    test.set_defaults(func=cmd_test)

    deliveries = with_workspace(wsub.add_parser("deliveries",
                                                help="the delivery attempts, newest first"))
    deliveries.add_argument("name")
    deliveries.add_argument("--limit", type=int, default=20)
    deliveries.set_defaults(func=cmd_deliveries)
