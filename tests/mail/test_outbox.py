from __future__ import annotations

import email
import logging
from pathlib import Path

from chalicelib.mail.message import link_mail
from chalicelib.mail.outbox import OutboxMailer


def test_each_message_is_an_eml_file_with_text_and_html(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox", sender="no-reply@localhost")
    mailer.send(
        link_mail(
            to="ann@example.com",
            subject="Hello <you>",
            intro="Hi & welcome",
            action="Go",
            link="http://localhost:5173/x?token=t1&a=<b>",
            outro="Bye",
        )
    )
    [path] = sorted(mailer.folder.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes())
    assert message["From"] == "no-reply@localhost"
    assert message["Subject"] == "Hello <you>"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for p in message.walk()
        if not p.is_multipart()
    }
    assert "http://localhost:5173/x?token=t1&a=<b>" in parts["text/plain"]
    assert 'href="http://localhost:5173/x?token=t1&amp;a=&lt;b&gt;"' in parts["text/html"]
    assert "Hi &amp; welcome" in parts["text/html"]


def test_messages_list_in_sending_order(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path, sender="x@localhost")
    for n in range(20):
        mailer.send(
            link_mail(
                to=f"u{n}@example.com",
                subject="s",
                intro="i",
                action="a",
                link=f"http://l/{n}",
                outro="o",
            )
        )
    recipients = [
        email.message_from_bytes(p.read_bytes())["To"] for p in sorted(mailer.folder.glob("*.eml"))
    ]
    assert recipients == [f"u{n}@example.com" for n in range(20)]


def test_the_link_is_logged_for_the_developer(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logger = logging.getLogger("snapboard.mail")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)  # whether or not importing the app configured logging yet
    try:
        OutboxMailer(tmp_path, sender="x@localhost").send(
            link_mail(
                to="a@example.com",
                subject="s",
                intro="i",
                action="a",
                link="http://localhost:5173/verify-email?token=abc",
                outro="o",
            )
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    [record] = records
    assert isinstance(record.msg, dict)
    assert record.msg["link"] == "http://localhost:5173/verify-email?token=abc"
    assert record.msg["file"].endswith(".eml")
