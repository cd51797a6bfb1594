"""A scripted MongoDB server on 127.0.0.1, for outage tests over pymongo's real network path.

``ScriptedMongo`` speaks the wire protocol (mockupdb 1.8.1 parses and answers
OP_MSG) and runs the data commands the app sends against an in-memory mongomock
database, so a real ``pymongo.MongoClient`` built by the composition root
selects a server, pools connections, retries and times out exactly as it does
against Atlas. It claims to be the primary of a one-member replica set, so the
driver's retryable reads and writes are on, as with an Atlas URI.

A test scripts what goes wrong, on the server side only::

    mongo.fail("insert", "images", answer=HANG_UP)        # the next insert into images
    mongo.fail("find", "posts", answer=SILENCE, times=2)  # no answer: a socket timeout
    mongo.fail("update", "images", answer=not_primary())  # an error reply
    mongo.fail("update", "images", answer=LOST_REPLY)     # done, but the answer is lost
    mongo.go_down()                                       # every connection hung up, hello too

Nothing of the app or of pymongo is patched.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mongomock
from mockupdb import MockupDB, Request
from pymongo import ReturnDocument

WIRE_VERSION = 21  # MongoDB 7.0
SET_NAME = "rs0"

# Short driver timeouts: a test that waits for one waits well under a second.
CLIENT_OPTIONS = (
    "directConnection=true&serverSelectionTimeoutMS=2000&connectTimeoutMS=1000"
    "&socketTimeoutMS=1500&heartbeatFrequencyMS=500"
)

HANG_UP = "hang up"  # close the connection before answering
SILENCE = "silence"  # read the command and never answer
LOST_REPLY = "lost reply"  # run the command, then close the connection: it happened, unconfirmed


def error_reply(code: int, errmsg: str, **labels: Any) -> dict[str, Any]:
    return {"ok": 0, "code": code, "errmsg": errmsg, **labels}


def not_primary() -> dict[str, Any]:
    return error_reply(10107, "not primary", codeName="NotWritablePrimary")


def host_unreachable() -> dict[str, Any]:
    return error_reply(6, "host unreachable", codeName="HostUnreachable")


# The error codes a MongoDB 4.4+ server labels "RetryableWriteError" when a retryable
# write (one sent with a txnNumber) fails with them; the driver retries on the label.
RETRYABLE_WRITE_CODES = frozenset({6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})

WRITE_CONCERN_ERROR = "write concern error"  # run the write, then report it unreplicated


@dataclass
class Fault:
    command: str | None  # None: any command
    collection: str | None  # None: any collection (or none)
    answer: str | dict[str, Any]
    times: int  # how many matching commands fail; then the fault is spent
    skip: int = 0  # matching commands let through before the first failure

    def takes(self, command: str, collection: str | None) -> bool:
        if self.times <= 0:
            return False
        if self.command is not None and self.command != command:
            return False
        if self.collection is not None and self.collection != collection:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.times -= 1
        return True


class ScriptedMongo:
    """The server: start it, point ``MONGODB_URI`` at ``uri``, script faults, stop it."""

    def __init__(self) -> None:
        self.data: mongomock.MongoClient[dict[str, Any]] = mongomock.MongoClient()
        self.commands: list[tuple[str, str | None]] = []  # (command, collection), in order
        self._faults: list[Fault] = []
        self._down = False
        self._lock = threading.Lock()
        self._server = MockupDB()
        self._server.autoresponds(self._respond)
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> ScriptedMongo:
        self.port = self._server.run()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?{CLIENT_OPTIONS}"

    # ---------------------------------------------------------------- scripting

    def fail(
        self,
        command: str | None = None,
        collection: str | None = None,
        *,
        answer: str | dict[str, Any] = HANG_UP,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """The next ``times`` commands named ``command`` on ``collection`` fail with ``answer``."""
        with self._lock:
            self._faults.append(Fault(command, collection, answer, times, skip))

    def go_down(self) -> None:
        """Hang up on every request, the driver's monitoring included: no server to select."""
        self._down = True

    def come_back(self) -> None:
        self._down = False
        with self._lock:
            self._faults.clear()

    @contextmanager
    def down(self) -> Iterator[None]:
        self.go_down()
        try:
            yield
        finally:
            self.come_back()

    def sent(self, command: str, collection: str | None = None) -> int:
        """How many ``command``s (on ``collection``) reached the server."""
        return sum(1 for c, coll in self.commands if c == command and collection in (None, coll))

    # ---------------------------------------------------------------- serving

    def _respond(self, request: Request) -> bool:
        doc = request.doc
        name = str(request.command_name)
        lower = name.lower()
        if self._down:
            return bool(request.hangup())
        if lower in ("hello", "ismaster"):
            return bool(request.replies(self._hello()))
        value = doc.get(name)
        collection = value if isinstance(value, str) else None
        with self._lock:
            self.commands.append((name, collection))
            fault = next((f for f in self._faults if f.takes(name, collection)), None)
        if fault is not None and fault.answer == HANG_UP:
            return bool(request.hangup())
        if fault is not None and fault.answer == SILENCE:
            return True
        if fault is not None and isinstance(fault.answer, dict):
            return bool(request.replies(_labelled(fault.answer, doc)))
        reply = self._run(name, collection, doc)
        if fault is not None and fault.answer == LOST_REPLY:
            return bool(request.hangup())
        if fault is not None and fault.answer == WRITE_CONCERN_ERROR:
            reply["writeConcernError"] = {
                "code": 64,
                "codeName": "WriteConcernFailed",
                "errmsg": "waiting for replication timed out",
            }
        return bool(request.replies(reply))

    def _hello(self) -> dict[str, Any]:
        me = f"127.0.0.1:{self.port}"
        return {
            "ok": 1,
            "helloOk": True,
            "ismaster": True,
            "isWritablePrimary": True,
            "setName": SET_NAME,
            "hosts": [me],
            "primary": me,
            "me": me,
            "minWireVersion": 0,
            "maxWireVersion": WIRE_VERSION,
            "logicalSessionTimeoutMinutes": 30,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "localTime": dt.datetime.now(dt.UTC),
        }

    def _run(self, name: str, collection: str | None, doc: Mapping[str, Any]) -> dict[str, Any]:
        handler = _COMMANDS.get(name)
        if handler is None:
            return {"ok": 1}  # ping, endSessions, killCursors, buildInfo, ...
        coll = self.data[str(doc["$db"])][collection or ""]
        try:
            return {"ok": 1, **handler(coll, doc)}
        except mongomock.DuplicateKeyError as exc:
            return error_reply(11000, str(exc))
        except mongomock.OperationFailure as exc:
            return error_reply(exc.code or 2, str(exc))
        except Exception as exc:  # a gap in this fake: an error reply, not a dead server thread
            return error_reply(1, f"ScriptedMongo cannot run {name}: {exc!r}")


def _labelled(answer: dict[str, Any], command: Mapping[str, Any]) -> dict[str, Any]:
    if "txnNumber" in command and answer.get("code") in RETRYABLE_WRITE_CODES:
        return {**answer, "errorLabels": ["RetryableWriteError"]}
    return answer


# ------------------------------------------------------------- the data commands

Coll = Any
Doc = Mapping[str, Any]


def _cursor(coll: Coll, docs: list[Any]) -> dict[str, Any]:
    # One batch holds everything: the app's pages are small, so no getMore is ever needed.
    return {"cursor": {"id": 0, "ns": coll.full_name, "firstBatch": docs}}


def _find(coll: Coll, doc: Doc) -> dict[str, Any]:
    cursor = coll.find(doc.get("filter", {}), doc.get("projection"))
    if doc.get("sort"):
        cursor = cursor.sort(list(doc["sort"].items()))
    if doc.get("skip"):
        cursor = cursor.skip(doc["skip"])
    if doc.get("limit"):
        cursor = cursor.limit(abs(doc["limit"]))
    return _cursor(coll, list(cursor))


def _aggregate(coll: Coll, doc: Doc) -> dict[str, Any]:
    return _cursor(coll, list(coll.aggregate(list(doc["pipeline"]))))


def _count(coll: Coll, doc: Doc) -> dict[str, Any]:
    return {"n": coll.count_documents(doc.get("query") or {})}


def _insert(coll: Coll, doc: Doc) -> dict[str, Any]:
    written, write_errors = 0, []
    for index, document in enumerate(doc["documents"]):
        try:
            coll.insert_one(dict(document))
            written += 1
        except mongomock.DuplicateKeyError as exc:
            write_errors.append({"index": index, "code": 11000, "errmsg": str(exc)})
            if doc.get("ordered", True):
                break
    return {"n": written, **({"writeErrors": write_errors} if write_errors else {})}


def _is_replacement(update: Any) -> bool:
    return isinstance(update, Mapping) and not any(key.startswith("$") for key in update)


def _update(coll: Coll, doc: Doc) -> dict[str, Any]:
    matched = modified = 0
    upserted: list[dict[str, Any]] = []
    write_errors: list[dict[str, Any]] = []
    for index, spec in enumerate(doc["updates"]):
        query, update, upsert = spec["q"], spec["u"], bool(spec.get("upsert"))
        try:
            if _is_replacement(update):
                result = coll.replace_one(query, dict(update), upsert=upsert)
            elif spec.get("multi"):
                result = coll.update_many(query, update, upsert=upsert)
            else:
                result = coll.update_one(query, update, upsert=upsert)
        except mongomock.DuplicateKeyError as exc:
            write_errors.append({"index": index, "code": 11000, "errmsg": str(exc)})
            break
        matched += result.matched_count
        modified += result.modified_count
        if result.upserted_id is not None:
            upserted.append({"index": index, "_id": result.upserted_id})
    reply: dict[str, Any] = {"n": matched + len(upserted), "nModified": modified}
    if upserted:
        reply["upserted"] = upserted
    if write_errors:
        reply["writeErrors"] = write_errors
    return reply


def _delete(coll: Coll, doc: Doc) -> dict[str, Any]:
    removed = 0
    for spec in doc["deletes"]:
        if spec.get("limit") == 1:
            removed += coll.delete_one(spec["q"]).deleted_count
        else:
            removed += coll.delete_many(spec["q"]).deleted_count
    return {"n": removed}


def _find_and_modify(coll: Coll, doc: Doc) -> dict[str, Any]:
    query = doc.get("query") or {}
    sort = list(doc["sort"].items()) if doc.get("sort") else None
    projection = doc.get("fields")
    if doc.get("remove"):
        value = coll.find_one_and_delete(query, projection=projection, sort=sort)
    else:
        update, upsert = doc["update"], bool(doc.get("upsert"))
        after = ReturnDocument.AFTER if doc.get("new") else ReturnDocument.BEFORE
        modify = coll.find_one_and_replace if _is_replacement(update) else coll.find_one_and_update
        value = modify(
            query, update, projection=projection, sort=sort, upsert=upsert, return_document=after
        )
    return {"value": value, "lastErrorObject": {"n": 0 if value is None else 1}}


def _create_indexes(coll: Coll, doc: Doc) -> dict[str, Any]:
    for spec in doc["indexes"]:
        keys = list(spec["key"].items())
        if any(kind == "text" for _, kind in keys):
            continue  # the stand-in has no text indexes; the app's fallback does not use one
        options = {k: v for k, v in spec.items() if k in ("name", "unique", "expireAfterSeconds")}
        coll.create_index(keys, **options)
    return {}


_COMMANDS: dict[str, Callable[[Coll, Doc], dict[str, Any]]] = {
    "find": _find,
    "aggregate": _aggregate,
    "count": _count,
    "insert": _insert,
    "update": _update,
    "delete": _delete,
    "findAndModify": _find_and_modify,
    "createIndexes": _create_indexes,
}
