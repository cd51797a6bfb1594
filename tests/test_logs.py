"""Structured logs: one JSON object per line, tagged with the request id."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import logs


def record(msg: Any, *, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("snapboard.test", logging.WARNING, __file__, 1, msg, (), exc_info)


def line(msg: Any, **kwargs: Any) -> dict[str, Any]:
    text = logs.JsonFormatter().format(record(msg, **kwargs))
    assert "\n" not in text, "one record, one line"
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_a_dict_message_becomes_the_fields_of_the_line() -> None:
    entry = line({"event": "request", "status": 200})
    assert entry["event"] == "request"
    assert entry["status"] == 200
    assert (entry["level"], entry["logger"]) == ("warning", "snapboard.test")
    stamp = dt.datetime.fromisoformat(entry["time"])
    assert stamp.tzinfo is not None
    assert stamp.utcoffset() == dt.timedelta(0)


def test_a_text_message_is_the_message_field() -> None:
    assert line("hello %s")["message"] == "hello %s"


def test_the_bound_request_id_tags_every_line_until_unbound() -> None:
    token = logs.bind_request_id("req-1")
    try:
        assert line({"event": "x"})["request_id"] == "req-1"
        assert logs.current_request_id() == "req-1"
    finally:
        logs.unbind_request_id(token)
    assert "request_id" not in line({"event": "x"})


def test_values_json_cannot_hold_are_written_as_text_and_non_ascii_is_kept() -> None:
    entry = line({"amount": Decimal("1.50"), "name": "Zoë"})
    assert entry == entry | {"amount": "1.50", "name": "Zoë"}
    text = logs.JsonFormatter().format(record({"name": "Zoë"}))
    assert "Zoë" in text


def test_an_exception_is_one_field_of_the_same_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        entry = line({"event": "failed"}, exc_info=sys.exc_info())
    assert entry["event"] == "failed"
    assert "RuntimeError: boom" in entry["exception"]


def test_configure_installs_one_handler_and_stops_propagation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger(logs.LOGGER_NAME)
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "propagate", True)
    logs.configure()
    logs.configure()
    assert len(root.handlers) == 1
    assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
    assert root.propagate is False
    assert logs.get_logger("access").name == "snapboard.access"
