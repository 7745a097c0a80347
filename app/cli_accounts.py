"""The account commands of `tichwatch`: officer accounts (add or reset, list, disable, enable) and API keys (add, list,
revoke). They write to the deployment's store directly, so they work whether the service runs or not, and a running
service honours them from its next request. Every change is recorded in the officer audit log with the actor `cli`.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tichwatch.app.schema import open_store
from tichwatch.config.loader import secret

if TYPE_CHECKING:
    from tichwatch.api.accounts import Accounts, Role

# tichwatch.api.accounts (argon2, the store) is imported inside the commands, so `tichwatch --help` and the other
# commands do not load it.
log = logging.getLogger(__name__)

ROLES = ["viewer", "communicator", "officer", "admin"]
ACTOR = "cli"


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[Accounts]:
    """The accounts of the deployment named by --config, on its store (closed afterwards)."""
    from tichwatch.api.accounts import Accounts
    from tichwatch.app.cli import (
        _load,  # here, not at the top: tichwatch.app.cli imports this module to build its parser
    )

    settings = _load(args.config)
    store = open_store(settings.store.data_dir, schema=settings.store.database_schema)
    try:
        yield Accounts(store, settings.accounts)
    finally:
        store.close()


def _role(name: str) -> Role:
    from tichwatch.api.accounts import Role

    return Role(name)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _table(rows: list[list[str]], header: list[str]) -> None:
    """Print rows as aligned columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def bootstrap_admin(accounts: Accounts, now: float) -> bool:
    """With no accounts yet, create `admin` from TICHWATCH_ADMIN_PASSWORD, so a new install can sign in (`run` calls
    it before the service starts); True when it did."""
    from tichwatch.api.accounts import Role

    password = secret("TICHWATCH_ADMIN_PASSWORD")
    if not password or accounts.has_users():
        return False
    accounts.add_user("admin", password, Role.ADMIN, now, actor="bootstrap")
    log.info("created the first account 'admin' from TICHWATCH_ADMIN_PASSWORD")
    return True


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create an officer account, or reset its password and role (ending its sessions); the password comes from
    TICHWATCH_NEW_PASSWORD or a prompt."""
    import getpass

    password = secret("TICHWATCH_NEW_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    with _accounts(args) as accounts:
        try:
            change = accounts.add_user(args.username, password, _role(args.role), time.time(), ACTOR)
        except ValueError as exc:
            return _fail(str(exc))
    if change.before is None:
        print(f"user {args.username} ({args.role}) created")
        return 0
    print(f"user {args.username} ({args.role}): password reset, {change.sessions_revoked} session(s) signed out")
    if change.after["disabled"]:
        print(f"the account is still disabled: `tichwatch user-enable {args.username}` lets it sign in")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """List officer accounts."""
    with _accounts(args) as accounts:
        users = accounts.users()
    _table([[u.username, u.role.value, _when(u.created_ts), "disabled" if u.disabled else "enabled", str(u.sessions)]
            for u in users], ["USERNAME", "ROLE", "CREATED", "STATE", "SESSIONS"])
    return 0


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        with _accounts(args) as accounts:
            try:
                change = accounts.set_disabled(args.username, disabled, ACTOR, time.time(), args.reason)
            except KeyError:
                return _fail(f"no account named {args.username!r} (see `tichwatch user-list`)")
            except ValueError as exc:
                return _fail(str(exc))
        state = "disabled" if disabled else "enabled"
        if not change.changed:
            print(f"user {args.username} was already {state}")
        else:
            print(f"user {args.username} {state}" + (f", {change.sessions_revoked} session(s) signed out"
                                                      if disabled else ""))
        return 0

    command.__doc__ = f"{'Disable' if disabled else 'Enable'} an officer account."
    return command


cmd_user_disable = _set_disabled(True)
cmd_user_enable = _set_disabled(False)


def cmd_apikey_add(args: argparse.Namespace) -> int:
    """Create an API key for a machine and print it once."""
    with _accounts(args) as accounts:
        try:
            print(accounts.add_api_key(args.name, _role(args.role), time.time(), ACTOR))
        except ValueError as exc:
            return _fail(str(exc))
    return 0


def cmd_apikey_list(args: argparse.Namespace) -> int:
    """List API keys (never the keys themselves)."""
    with _accounts(args) as accounts:
        keys = accounts.api_keys()
    _table([[k.name, k.role.value, _when(k.created_ts), "revoked" if k.revoked else "active"] for k in keys],
           ["NAME", "ROLE", "CREATED", "STATE"])
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    """Revoke an API key."""
    with _accounts(args) as accounts:
        try:
            change = accounts.revoke_api_key(args.name, ACTOR, time.time(), args.reason)
        except KeyError:
            return _fail(f"no API key named {args.name!r} (see `tichwatch apikey-list`)")
    print(f"API key {args.name} " + ("revoked" if change.changed else "was already revoked"))
    return 0


def _each_commune(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run an account command on each --config in turn (a heading per commune when several); the worst exit code."""
    def command(args: argparse.Namespace) -> int:
        configs: list[Path | None] = args.config or [None]
        if len(configs) > 1 and func is cmd_user_add and not secret("TICHWATCH_NEW_PASSWORD"):
            return _fail("with several --config, give the password in TICHWATCH_NEW_PASSWORD (one password for "
                         "every commune, not one prompt each)")
        codes = []
        for config in configs:
            if len(configs) > 1:
                print(f"== {config}")
            codes.append(func(argparse.Namespace(**{**vars(args), "config": config})))
        return max(codes)

    command.__doc__ = func.__doc__
    return command


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the account and API key commands to the `tichwatch` parser."""

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], int], arg: str | None = None,
                role_default: str | None = None, reason: bool = False) -> None:
        p = sub.add_parser(name, help=help_text)
        if arg:
            p.add_argument(arg)
        if role_default:
            p.add_argument("--role", choices=ROLES, default=role_default)
        if reason:
            p.add_argument("--reason", help="why (kept in the officer audit log)")
        p.add_argument("--config", type=Path, action="append", help="deployment file (default: the embedded Kiều "
                       "Phú file); given several times, the same for each commune (an officer of several communes: "
                       "README, Several communes)")
        p.set_defaults(func=_each_commune(func))

    command("user-add", "create an officer account, or reset its password and role (signs its sessions out); "
            "password from TICHWATCH_NEW_PASSWORD or a prompt", cmd_user_add, "username", role_default="officer")
    command("user-list", "list officer accounts", cmd_user_list)
    command("user-disable", "disable an account: it cannot sign in and its sessions end at once", cmd_user_disable,
            "username", reason=True)
    command("user-enable", "enable a disabled account again", cmd_user_enable, "username", reason=True)
    command("apikey-add", "create an API key for a machine (printed once)", cmd_apikey_add, "name",
            role_default="viewer")
    command("apikey-list", "list API keys (name, role, created, revoked; never the key)", cmd_apikey_list)
    command("apikey-revoke", "revoke an API key: refused from its next request on", cmd_apikey_revoke, "name",
            reason=True)
