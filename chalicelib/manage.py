"""Operator commands: ``python -m chalicelib.manage <command>``.

They build the same clients the app uses, from the same environment
(tests hand in their own: ``main(argv, clients=...)``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from chalicelib import composition, db, errors
from chalicelib.resources import Resources
from chalicelib.settings import ConfigError


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
    if clients.settings.uses_embedded_mongo:
        print(
            "make seed needs MONGODB_URI: the embedded database lives inside one process "
            "(make run loads the demo data into its own).",
            file=sys.stderr,
        )
        return 2
    seeded = composition.seed_demo(clients)
    print(f"demo: {seeded.users} people, {seeded.posts} posts, {seeded.images} images")
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
    commands.add_parser("seed", help="load the demo data set (people, posts, photos)")
    args = parser.parse_args(argv)
    handlers: dict[str, Command] = {
        "indexes": _indexes,
        "admin": _admin,
        "sweep": _sweep,
        "seed": _seed,
    }
    try:
        return handlers[args.command](clients or composition.process_clients(), args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
