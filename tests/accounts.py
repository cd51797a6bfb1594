"""AuthActions for tests: sign up, read the outbox, verify, log in — through HTTP."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from chalicelib.composition import Clients
from chalicelib.users import repository as users
from tests.support import Http, Reply

PASSWORD = "violet-harbour-71"
_LINK = re.compile(r"(https?://\S+\?token=([A-Za-z0-9_-]+))")


@dataclass
class Session:
    user: dict[str, Any]
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Accounts:
    def __init__(self, client: Http, services: Clients) -> None:
        self.client = client
        self.services = services

    @property
    def outbox(self) -> Path:
        return Path(self.services.settings.data_dir) / "outbox"

    def messages(self) -> list[Message]:
        files = sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []
        return [email.message_from_bytes(f.read_bytes()) for f in files]

    def last_token(self, to: str) -> str:
        """The token in the newest message to ``to`` (plain-text part)."""
        for message in reversed(self.messages()):
            if message["To"] == to:
                for part in message.walk():
                    if part.get_content_type() == "text/plain":
                        text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                        match = _LINK.search(text)
                        assert match is not None, text
                        return match.group(2)
        raise AssertionError(f"no message to {to}")

    def register(self, name: str = "ann", *, password: str = PASSWORD) -> Reply:
        return self.client.post(
            "/auth/register",
            json={"email": f"{name}@example.com", "username": name, "password": password},
        )

    def verify(self, name: str = "ann") -> Reply:
        token = self.last_token(f"{name}@example.com")
        return self.client.post("/auth/verify-email", json={"token": token})

    def login(self, name: str = "ann", *, password: str = PASSWORD) -> Reply:
        return self.client.post(
            "/auth/login", json={"email": f"{name}@example.com", "password": password}
        )

    def session(self, reply: Reply) -> Session:
        assert reply.status == 200, reply.body
        body = reply.json
        return Session(body["user"], body["access_token"], body["refresh_token"])

    def signup(self, name: str = "ann", *, verified: bool = True, admin: bool = False) -> Session:
        """A new account, signed in."""
        assert self.register(name).status == 201
        if verified:
            assert self.verify(name).status == 204
        if admin:
            user = users.find_by_username(db=self.services.db, username=name)
            assert user is not None
            users.update_fields(
                db=self.services.db,
                user_id=user.id,
                fields={"roles": ["admin", "user"]},
                now=self.services.clock(),
            )
        return self.session(self.login(name))
