"""Amazon SES (API v2) mailer. The only module that talks to SES."""

from __future__ import annotations

from typing import Any

from chalicelib.logs import get_logger
from chalicelib.mail.message import Mail, MailError

log = get_logger("mail")


class SesMailer:
    def __init__(self, client: Any, *, sender: str) -> None:
        """``client`` is a boto3 ``sesv2`` client, built and cached by the composition root."""
        self.client = client
        self.sender = sender

    def send(self, mail: Mail) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [mail.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": mail.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": mail.text, "Charset": "UTF-8"},
                            "Html": {"Data": mail.html, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except ClientError as exc:
            # SES's code only: its message may name the addresses (personal data in logs).
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise MailError(f"SES refused the message ({code})") from None
        except BotoCoreError as exc:
            raise MailError(f"SES unreachable ({type(exc).__name__})") from None
        log.info({"event": "mail_sent", "backend": "ses", "message_id": response["MessageId"]})
