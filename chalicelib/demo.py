"""The demo data set: a few people and about fifty posts with generated photos.

``make run`` and ``make serve`` load it into an empty embedded database before
serving, so the feed is never empty; ``make seed`` loads it into an empty
database (the one ``MONGODB_URI`` names, or the embedded one). It goes through
the same services as the API (image validation and the image store included),
and refuses to run when ``STAGE=prod``.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.clock import Clock
from chalicelib.images.store import ImageStore
from chalicelib.logs import get_logger
from chalicelib.posts import service as post_service
from chalicelib.posts.models import PostCreate
from chalicelib.principal import Principal, Role
from chalicelib.settings import Settings
from chalicelib.users import repository as user_repository

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = get_logger("demo")

# Printed by `make run`; only ever valid against a dev database.
DEMO_PASSWORD = "snapboard-demo-1"  # noqa: S105
PEOPLE = [
    ("ann", "Ann Okafor", "Harbours at first light."),
    ("bob", "Bob Lindqvist", "Mountains, mostly in the rain."),
    ("cat", "Cat Moreau", "Street corners and their cats."),
    ("dan", "Dan Ishikawa", "Long exposures of short evenings."),
]
# While `make run` owns the embedded database, `make admin` cannot reach it:
# one demo person is an administrator, so the admin pages can be tried.
DEMO_ADMIN = "dan"
SUBJECTS = ["harbour", "mountain", "street", "forest", "river", "market", "bridge", "garden"]
MOODS = ["at dawn", "in the rain", "after dark", "in winter", "at noon", "in fog", "at dusk"]
TAGS = ["sea", "hills", "city", "night", "film", "travel", "autumn", "portrait", "bw"]
PALETTE = ["#1b4965", "#5fa8d3", "#cae9ff", "#62b6cb", "#bee9e8", "#e76f51", "#f4a261", "#2a9d8f"]
POSTS = 48


def sign_in_hint() -> str:
    """The line `make run`, `make serve` and `make seed` print: how to try the demo accounts."""
    return (
        f"sign in as {PEOPLE[0][0]}@demo.snapboard.test / {DEMO_PASSWORD} "
        f"({DEMO_ADMIN}@demo.snapboard.test is an administrator)"
    )


@dataclass(frozen=True)
class Seeded:
    users: int
    posts: int
    images: int


def seed(
    *,
    settings: Settings,
    db: Any,
    image_store: ImageStore,
    password_hasher: PasswordHasher,
    clock: Clock,
    posts_count: int = POSTS,
    rng_seed: int = 7,
) -> Seeded:
    """Load the demo data set; returns what it created."""
    if settings.stage == "prod":
        raise errors.Forbidden("The demo data set is never loaded into production.")
    rng = random.Random(rng_seed)  # noqa: S311 (demo content, not security)
    # Posts spread over the past weeks, oldest first; the last is about an hour old.
    now = clock()
    moment = [now - timedelta(hours=6 * posts_count + 1)]

    def then() -> datetime:
        return moment[0]

    from chalicelib.images import service as image_service

    people = [
        _person(db, password_hasher, then(), name, display, bio) for name, display, bio in PEOPLE
    ]
    image_count = 0
    stored: dict[str, Any] = {"db": db, "image_store": image_store, "clock": then}
    for person in people:
        photo = _photo(rng, 256, 256)
        avatar = image_service.upload(**stored, user=person, data=photo, alt=None)
        image_service.set_avatar(**stored, user=person, image_id=avatar.id)
        image_count += 1
    for n in range(posts_count):
        moment[0] = now - timedelta(hours=6 * (posts_count - n), minutes=rng.randint(0, 300))
        author = rng.choice(people)
        gallery = [
            image_service.upload(
                **stored, user=author, data=_photo(rng, 1200, 800), alt=f"Photo {k + 1}"
            ).id
            for k in range(rng.choice([1, 1, 2, 3]))
        ]
        image_count += len(gallery)
        subject = rng.choice(SUBJECTS)
        data = PostCreate(
            title=f"{subject.capitalize()} {rng.choice(MOODS)}",
            body=f"Notes from the {subject}: {rng.choice(MOODS)}, {rng.choice(MOODS)}.",
            tags=rng.sample(TAGS, rng.randint(1, 3)),
            visibility="private" if n % 12 == 5 else "public",
            image_ids=gallery,
        )
        post_service.create_post(**stored, author=author, data=data)
    log.info({"event": "demo_seeded", "users": len(people), "posts": posts_count})
    return Seeded(users=len(people), posts=posts_count, images=image_count)


def _person(
    db: Any,
    password_hasher: PasswordHasher,
    now: datetime,
    username: str,
    display_name: str,
    bio: str,
) -> Principal:
    existing = user_repository.find_by_username(db=db, username=username)
    record = existing or user_repository.insert_user(
        db=db,
        email=f"{username}@demo.snapboard.test",
        username=username,
        password_hash=password_hasher.hash(DEMO_PASSWORD),
        display_name=display_name,
        now=now,
    )
    roles: list[Role] = ["user", "admin"] if username == DEMO_ADMIN else ["user"]
    user_repository.update_fields(
        db=db,
        user_id=record.id,
        fields={"email_verified": True, "bio": bio, "roles": roles},
        now=now,
    )
    return Principal(record.id, record.username, frozenset(roles), email_verified=True)


def _photo(rng: random.Random, width: int, height: int) -> bytes:
    """A generated 'photo': a sky gradient, hills and a sun, as a JPEG."""
    from PIL import Image, ImageDraw

    sky, land = rng.sample(PALETTE, 2)
    image = Image.new("RGB", (width, height), sky)
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 8):
        shade = int(40 * y / height)
        draw.rectangle([0, y, width, y + 8], fill=_darker(sky, shade))
    sun = rng.randint(width // 10, width // 5)
    cx, cy = rng.randint(sun, width - sun), rng.randint(sun, height // 2)
    draw.ellipse([cx - sun, cy - sun, cx + sun, cy + sun], fill="#fff3b0")
    ridge = [(x, int(height * (0.55 + 0.15 * rng.random()))) for x in range(0, width + 60, 60)]
    draw.polygon([(0, height), *ridge, (width, height)], fill=land)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()


def _darker(colour: str, amount: int) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"#{max(red - amount, 0):02x}{max(green - amount, 0):02x}{max(blue - amount, 0):02x}"
