"""Outgoing mail: what a message is, independent of how it is sent."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chalicelib import lazy

# The stdlib's email package costs a cold start more than most of ours: only mail loads it.
if TYPE_CHECKING:
    from email import message as email_message
    from email import utils as email_utils
else:
    email_message = lazy.module("email.message")
    email_utils = lazy.module("email.utils")


@dataclass(frozen=True)
class Mail:
    """One message with a plain-text and an HTML part."""

    to: str
    subject: str
    text: str
    html: str

    def to_email(self, sender: str) -> email_message.EmailMessage:
        message = email_message.EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = email_utils.formatdate(usegmt=True)
        message["Message-ID"] = email_utils.make_msgid(domain=sender.rpartition("@")[2] or None)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Deliver ``mail`` or raise ``MailError``."""


class MailError(Exception):
    """The message could not be handed to the mail service."""


def link_mail(*, to: str, subject: str, intro: str, action: str, link: str, outro: str) -> Mail:
    """A message whose point is one link (verify an address, reset a password)."""
    text = f"{intro}\n\n{action}:\n{link}\n\n{outro}\n"
    safe_link = html.escape(link, quote=True)
    body = (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">'
        f"<p>{html.escape(intro)}</p>"
        f'<p><a href="{safe_link}" style="display:inline-block;padding:10px 16px;'
        f'background:#1565c0;color:#fff;border-radius:6px;text-decoration:none">'
        f"{html.escape(action)}</a></p>"
        f'<p style="color:#5b6472;font-size:13px">Or paste this link into your browser:<br>'
        f"{safe_link}</p>"
        f'<p style="color:#5b6472;font-size:13px">{html.escape(outro)}</p>'
        "</body></html>"
    )
    return Mail(to=to, subject=subject, text=text, html=body)
