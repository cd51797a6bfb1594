"""The SES backend on moto: the message that leaves is one a user can act on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.composition import Clients
from chalicelib.mail.message import MailError, link_mail
from chalicelib.mail.ses import SesMailer
from chalicelib.settings import Settings
from tests.accounts import Accounts
from tests.support import CHEAP_HASHER, FakeClock, Http

REGION = "eu-west-1"
SENDER = "hello@snapboard.example"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity=SENDER)
        yield client


def sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_a_message_goes_out_with_its_parts(aws: Any) -> None:
    mailer = SesMailer(aws, sender=SENDER)
    mailer.send(
        link_mail(
            to="ann@example.com",
            subject="Hi",
            intro="Hello",
            action="Go",
            link="https://x.example/?token=abc",
            outro="Bye",
        )
    )
    [message] = sent()
    assert message.source == SENDER
    assert message.destinations == {"ToAddresses": ["ann@example.com"]}
    assert message.subject == "Hi"
    assert 'href="https://x.example/?token=abc"' in message.body


def test_an_unverified_sender_is_a_mail_error(aws: Any) -> None:
    mailer = SesMailer(aws, sender="nobody@unverified.example")
    with pytest.raises(MailError, match="MessageRejected") as caught:
        mailer.send(
            link_mail(
                to="a@example.com", subject="s", intro="i", action="a", link="https://x", outro="o"
            )
        )
    # What ends in the logs names SES's reason, not the people involved.
    assert "@" not in str(caught.value)


def test_a_verification_sent_through_ses_has_a_link_that_works(
    aws: Any, serve: Callable[[Clients], Http], svc: Clients, clock: FakeClock
) -> None:
    settings = Settings.from_env(
        {
            "MAIL_BACKEND": "ses",
            "MAIL_FROM": SENDER,
            "MONGODB_DB": svc.settings.mongodb_db,
            "FRONTEND_URL": "https://snapboard.example",
        }
    )
    ses_services = Clients(
        settings, mongo_client=svc.mongo_client, password_hasher=CHEAP_HASHER, clock=clock
    )
    client = serve(ses_services)
    assert isinstance(ses_services.mailer, SesMailer)
    accounts = Accounts(client, ses_services)
    assert accounts.register("ann").status == 201
    [message] = sent()
    match = re.search(
        r'href="https://snapboard\.example/verify-email\?token=([\w-]+)"', message.body
    )
    assert match is not None, message.body
    assert client.post("/auth/verify-email", json={"token": match.group(1)}).status == 204
    assert accounts.session(accounts.login("ann")).user["email_verified"] is True


def test_an_unreachable_ses_during_registration_leaves_the_account_and_the_mail_resendable(
    aws: Any, serve: Callable[[Clients], Http], svc: Clients
) -> None:
    from botocore.config import Config

    from tests.support import free_port

    # The real SES client, its endpoint a loopback port nothing listens on: refused.
    cut_off = boto3.client(
        "sesv2",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    def served(mailer: SesMailer) -> Accounts:
        clients = Clients(
            svc.settings,
            mongo_client=svc.mongo_client,
            mailer=mailer,
            password_hasher=CHEAP_HASHER,
            clock=svc.clock,
        )
        return Accounts(serve(clients), clients)

    during = served(SesMailer(cut_off, sender=SENDER))
    assert during.register("ann").status == 201
    assert sent() == []
    # SES is back: the user signs in and asks for the mail again.
    after = served(SesMailer(aws, sender=SENDER))
    session = after.session(after.login("ann"))
    assert session.user["email_verified"] is False
    resend = after.client.post("/auth/verify-email/resend", headers=session.headers)
    assert resend.status == 204
    [message] = sent()
    assert message.destinations["ToAddresses"] == ["ann@example.com"]
