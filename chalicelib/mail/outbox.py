"""The development mailer: each message becomes an .eml file under the outbox folder.

Open the file in any mail client, or copy the link from the log line. Settings
refuse this backend when ``STAGE=prod``, so links (which carry single-use
tokens) are only ever logged on a developer's machine.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.logs import get_logger
from chalicelib.mail.message import Mail

log = get_logger("mail")

_LINK = re.compile(r"https?://\S+")


class OutboxMailer:
    def __init__(self, folder: Path, *, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, mail: Mail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Nanoseconds in the name keep a directory listing in sending order.
        nanos = time.time_ns()
        stamp = datetime.fromtimestamp(nanos // 10**9, UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}.{nanos % 10**9:09d}-{uuid.uuid4().hex[:6]}.eml"
        path.write_bytes(mail.to_email(self.sender).as_bytes())
        link = _LINK.search(mail.text)
        log.info(
            {
                "event": "mail_outbox",
                "to": mail.to,
                "subject": mail.subject,
                "file": str(path),
                "link": link.group(0) if link else None,
            }
        )
