"""Operator commands: ``python -m chalicelib.manage <command>``.

They build the same clients the app uses, from the same environment
(tests hand in their own: ``main(argv, clients=...)``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from chalicelib import composition, db, demo, errors
from chalicelib.errors import ConfigError
from chalicelib.resources import Resources


def _indexes(clients: Resources, _: argparse.Namespace) -> int:
    database = clients.mongo_client[clients.settings.mongodb_db]
    for collection, names in db.ensure_indexes(database).items():
        print(f"{collection}: {', '.join(names)}")
    return 0


def _admin(clients: Resources, args: argparse.Namespace) -> int:
    from chalicelib.users import service

    try:
        user = service.promote(db=clients.db, clock=clients.clock, email=args.email)
    except errors.NotFound as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    print(f"{user.username} is now an administrator")
    return 0


def _seed(clients: Resources, _: argparse.Namespace) -> int:
    seeded = composition.load_demo(clients)
    if seeded is None:
        print("demo: the database already has accounts, nothing loaded")
    else:
        print(f"demo: {seeded.users} people, {seeded.posts} posts, {seeded.images} images loaded")
    print(f"demo: {demo.sign_in_hint()}")
    return 0


def _reset(clients: Resources, _: argparse.Namespace) -> int:
    settings = clients.settings
    if not settings.uses_embedded_mongo:
        print(
            "make reset clears the embedded database under DATA_DIR; "
            "with MONGODB_URI set, drop that database yourself.",
            file=sys.stderr,
        )
        return 2
    composition.reset_embedded(settings)
    print(f"{settings.data_dir}: the embedded database, media, outbox and dev keys removed")
    return 0


def _sweep(clients: Resources, _: argparse.Namespace) -> int:
    print(f"images: {composition.sweep(clients)}")
    return 0


Command = Callable[[Resources, argparse.Namespace], int]


def main(argv: Sequence[str] | None = None, *, clients: Resources | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("indexes", help="create every declared MongoDB index (idempotent)")
    admin = commands.add_parser("admin", help="make an existing user an administrator")
    admin.add_argument("--email", required=True)
    commands.add_parser(
        "sweep", help="delete day-old pending images and retry failed file deletions"
    )
    commands.add_parser(
        "seed", help="load the demo data set (people, posts, photos) into an empty database"
    )
    commands.add_parser(
        "reset", help="delete the embedded database and its files under DATA_DIR (start clean)"
    )
    args = parser.parse_args(argv)
    handlers: dict[str, Command] = {
        "indexes": _indexes,
        "admin": _admin,
        "sweep": _sweep,
        "seed": _seed,
        "reset": _reset,
    }
    try:
        return handlers[args.command](clients or composition.process_clients(), args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
