"""The ``hub`` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hub.errors import HubError

if TYPE_CHECKING:
    from hub.db import Database
    from hub.settings import Settings

log = logging.getLogger("hub")


def _configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Migrations announce every plugin they set up; only their problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def _settings() -> Settings:
    from hub.settings import Settings

    return Settings.from_env()


def _database() -> Database:
    from hub.db import Database

    return Database(_settings().database_url)


# --- commands ------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    from hub import migrate

    db = _database()
    before = migrate.current_revision(db)
    migrate.upgrade(db)
    after = migrate.current_revision(db)
    print(f"database at revision {after}" + ("" if before != after else " (already current)"))
    return 0


def _require_current_schema() -> None:
    from hub import migrate

    db = _database()
    try:
        if not migrate.is_current(db):
            raise HubError("the database schema is not current: run `hub migrate` first")
    finally:
        db.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app (and, unless --no-worker, a job worker in each process)."""
    import uvicorn

    settings = _settings()
    settings.require_secrets()
    _require_current_schema()
    os.environ["HUB_EMBEDDED_WORKER"] = "0" if args.no_worker else "1"
    uvicorn.run(
        "hub.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        proxy_headers=True,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a job worker only (scale out by running more of these)."""
    import concurrent.futures
    import signal

    from hub.jobs import Worker
    from hub.services import Services

    settings = _settings()
    _require_current_schema()
    services = Services.build(settings)

    async def run() -> None:
        # Jobs wait on the database and on per-company limits in threads; give them
        # enough threads that waiting jobs never starve running ones.
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="hub-job")
        )
        worker = Worker(services, concurrency=args.concurrency, name="worker")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker.start()
        await stop.wait()
        await worker.stop()

    asyncio.run(run())
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """List installed plugins with their versions and hooks."""
    from hub.plugins import PluginHost

    host = PluginHost(_settings())
    if not host.integrations:
        print("no plugins installed")
    for integration in host.integrations:
        print(f"{integration.slug}  {integration.info.name}  {integration.version}")
        print(f"    from {integration.source}")
        print(f"    hooks: {', '.join(integration.hooks)}")
    return 0


def cmd_new_plugin(args: argparse.Namespace) -> int:
    """Create a new plugin from the template."""
    import pathlib

    from hub.scaffold import create_plugin

    path = create_plugin(args.name, pathlib.Path(args.directory))
    print(f"created {path}")
    print(f"next: pip install -e {path}  and  pytest {path}/tests")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    """Create a portal user (asks for the password unless --password is given)."""
    from hub.accounts import create_user, get_or_create_organization

    password = args.password or os.environ.get("HUB_NEW_USER_PASSWORD")
    if not password:
        password = getpass.getpass("Password for the new user: ")
    db = _database()
    with db.session() as session:
        org = get_or_create_organization(session, args.org)
        user = create_user(session, org, args.email, password, admin=args.admin)
        role, email = user.role, user.email
    print(f"created {role} {email} in organization {args.org!r}")
    return 0


def cmd_api_keys_create(args: argparse.Namespace) -> int:
    """Create an organization API key and print it (shown once)."""
    from hub.accounts import create_api_key, get_or_create_organization

    db = _database()
    with db.session() as session:
        org = get_or_create_organization(session, args.org)
        key = create_api_key(session, org, args.name or "")
    print(key)
    print("(store it now: only a hash is kept, it cannot be shown again)", file=sys.stderr)
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored token under the newest HUB_ENCRYPTION_KEYS key."""
    from hub.plugins import PluginHost
    from hub.vault import TokenCipher, Vault

    settings = _settings()
    settings.require_secrets()
    db = _database()
    vault = Vault(db, TokenCipher(settings.encryption_keys), PluginHost(settings, plugins=[]))
    with db.session() as session:
        count = vault.rotate_keys(session)
    print(f"re-encrypted the tokens of {count} connection(s) under the newest key")
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run a plugin's provider emulator (QuickBooks: a local QuickBooks Online)."""
    import uvicorn

    from hub.plugins import PluginHost
    from hub.types import EmulatorOptions

    host = PluginHost(_settings())
    if args.slug not in host:
        raise HubError(f"no plugin {args.slug!r} is installed (see `hub plugins`)")
    if not host.has_hook(args.slug, "provider_emulator"):
        raise HubError(f"the {args.slug} plugin has no emulator")
    extra: dict[str, object] = {"webhook_format": args.webhook_format}
    if args.state_file:
        extra["state_path"] = args.state_file
    if args.no_limits:
        extra["limits"] = False
    if args.aggregation_seconds is not None:
        extra["aggregation_seconds"] = args.aggregation_seconds
    if args.region:
        extra["region"] = args.region
    if args.latency_ms is not None:
        extra["latency_ms"] = args.latency_ms
    if args.client_id:
        extra.update(
            client_id=args.client_id,
            client_secret=args.client_secret or "",
            redirect_uris=args.redirect_uri or [],
        )
    options = EmulatorOptions(
        auto_consent=args.auto_consent,
        webhook_url=args.webhook_url,
        verifier_token=args.verifier_token,
        extra=extra,
    )
    app = host.hook(args.slug, "provider_emulator")(options=options)
    print(f"{args.slug} emulator on http://{args.host}:{args.port}/_emulator/")
    if args.client_id:
        print(f"app registered: client id {args.client_id}, redirect URIs {args.redirect_uri}")
    else:
        print("register an app with POST /_emulator/apps (or start with --client-id ...)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Everything on this machine: hub, worker and QuickBooks emulator, with demo data."""
    from hub.demo import run_demo

    return run_demo(port=args.port, emulator_port=args.emulator_port, host=args.host)


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="hub", description="Coordinoter Integration Hub")
    parser.add_argument("--log-level", default=os.environ.get("HUB_LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help=cmd_serve.__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="web processes")
    p.add_argument("--no-worker", action="store_true", help="do not run jobs in web processes")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help=cmd_worker.__doc__)
    p.add_argument("--concurrency", type=int, default=8)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help=cmd_demo.__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--emulator-port", type=int, default=8001)
    p.set_defaults(func=cmd_demo)

    sub.add_parser("migrate", help=cmd_migrate.__doc__).set_defaults(func=cmd_migrate)
    sub.add_parser("plugins", help=cmd_plugins.__doc__).set_defaults(func=cmd_plugins)

    p = sub.add_parser("new-plugin", help=cmd_new_plugin.__doc__)
    p.add_argument("name", help="the slug, e.g. xero")
    p.add_argument("--directory", default="plugins")
    p.set_defaults(func=cmd_new_plugin)

    users = sub.add_parser("users", help="manage portal users").add_subparsers(
        dest="users_command", required=True
    )
    p = users.add_parser("create", help=cmd_users_create.__doc__)
    p.add_argument("--org", required=True, help="organization name (created if missing)")
    p.add_argument("--email", required=True)
    p.add_argument("--admin", action="store_true", help="may connect and disconnect")
    p.add_argument("--password", help="default: asked interactively")
    p.set_defaults(func=cmd_users_create)

    keys = sub.add_parser("api-keys", help="manage API keys").add_subparsers(
        dest="api_keys_command", required=True
    )
    p = keys.add_parser("create", help=cmd_api_keys_create.__doc__)
    p.add_argument("--org", required=True)
    p.add_argument("--name", default="")
    p.set_defaults(func=cmd_api_keys_create)

    enc = sub.add_parser("keys", help="encryption keys").add_subparsers(
        dest="keys_command", required=True
    )
    enc.add_parser("rotate", help=cmd_keys_rotate.__doc__).set_defaults(func=cmd_keys_rotate)

    p = sub.add_parser("emulator", help=cmd_emulator.__doc__)
    p.add_argument("slug", help="the plugin, e.g. quickbooks")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--auto-consent", action="store_true")
    p.add_argument("--webhook-url")
    p.add_argument("--verifier-token")
    p.add_argument("--webhook-format", choices=["legacy", "cloudevents"], default="legacy")
    p.add_argument("--state-file", help="keep the emulator's data in this JSON file")
    p.add_argument("--no-limits", action="store_true", help="turn QuickBooks' throttles off")
    p.add_argument("--aggregation-seconds", type=float)
    p.add_argument(
        "--region",
        type=str.upper,
        choices=["AU", "US", "UK", "GB", "CA"],
        help="the seeded company's country (default AU)",
    )
    p.add_argument(
        "--latency-ms", type=float, help="delay every API request by this many milliseconds"
    )
    p.add_argument("--client-id", help="register an app with this client id")
    p.add_argument("--client-secret")
    p.add_argument("--redirect-uri", action="append", help="the app's redirect URI (repeat)")
    p.set_defaults(func=cmd_emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hub`` console script."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    try:
        return int(args.func(args))
    except HubError as err:
        print(f"hub: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"hub: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
