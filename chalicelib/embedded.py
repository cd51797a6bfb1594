"""The embedded database: mongomock in memory, every write journaled to SQLite under DATA_DIR.

Without ``MONGODB_URI`` the app runs on mongomock, the stand-in the tests use.
``open_client(data_dir)`` makes its data outlive the process: it loads everything
from ``<data_dir>/embedded.sqlite3`` and returns a mongomock client whose every
write is committed to that file before the call returns, so a worker that
gunicorn recycles or kills (SIGKILL, as its timeout does) loses nothing it answered.

What was weighed (December 2026):

- mongomock-persistence 0.0.5 patches mongomock for the whole interpreter and
  writes one JSON file when the interpreter exits: a killed worker loses everything.
- montydb 2.5.6 has no working ``create_index`` (so no unique index, on which our
  uniqueness rests) and no ``aggregate``; mongita 1.2.0 has no
  ``find_one_and_update``, no upsert on updates and no compound index; tinymongo
  1.3.1 covers more, but it is another engine than the one the tests run.
- Chosen: mongomock stays the engine, and the standard library's sqlite3 (kept,
  transactional, crash-safe) holds a copy of every document and index, one row
  each, encoded with pymongo's ``bson`` (ObjectId, datetimes, bytes and nesting
  round-trip exactly).

The seam, in mongomock 4.3.0 (pinned): a client takes its ``ServerStore`` as an
argument, and this one's collection stores journal what is done to them (deletes,
TTL expiry, drops, renames, indexes). Updates are the exception: mongomock changes
the stored document in place and puts nothing back. But every document it writes,
inserted or updated, is last checked against the unique indexes
(``Collection._ensure_uniques``), and a failed check puts the previous version back
or removes the insert; so a document is journaled once that check passes. Only
this client's databases and collections do this (subclasses: mongomock itself is
not patched).

Each write operation is one SQLite transaction, committed before it returns (WAL
with ``synchronous=NORMAL``: a commit survives the process being killed; a power
cut may lose the last ones, fair for a development store). Write operations are
serialized, so ``find_one_and_update`` is atomic even under a threaded server.
``client.transaction()`` makes one transaction of a longer piece of work (the demo
data set: all of it or none). One process owns a store at a time (a lock file,
released by the kernel when its owner dies); another waits a little, then fails
naming the owner.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
import mongomock
from mongomock import helpers
from mongomock import store as mongomock_store

from chalicelib.errors import ConfigError
from chalicelib.logs import get_logger

log = get_logger("embedded")

# mongomock's classes, typed as what they are to us: its stubs call its client
# pymongo's, and its stores carry no types.
_MongomockClient: Any = mongomock.MongoClient
_MongomockDatabase: Any = mongomock.Database
_MongomockCollection: Any = mongomock.Collection
_ServerStore: Any = mongomock_store.ServerStore
_DatabaseStoreBase: Any = mongomock_store.DatabaseStore
_CollectionStoreBase: Any = mongomock_store.CollectionStore

STORE_FILE = "embedded.sqlite3"
LOCK_FILE = "embedded.lock"
# Long enough for a gunicorn worker being replaced to let go; short enough to tell a person.
LOCK_WAIT_SECONDS = 5.0
# The journal's layout; a file from a newer layout is refused rather than misread.
FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    db TEXT NOT NULL, collection TEXT NOT NULL, id BLOB NOT NULL, document BLOB NOT NULL,
    PRIMARY KEY (db, collection, id));
CREATE TABLE IF NOT EXISTS indexes (
    db TEXT NOT NULL, collection TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
    PRIMARY KEY (db, collection, name));
CREATE TABLE IF NOT EXISTS collections (
    db TEXT NOT NULL, collection TEXT NOT NULL, PRIMARY KEY (db, collection));
"""


class StoreInUse(ConfigError):
    """Another process owns the embedded store of this data directory."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])

    def __str__(self) -> str:
        return self.problems[0]


# ------------------------------------------------------------------ ownership


@contextlib.contextmanager
def owned(data_dir: Path, *, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[int]:
    """Own ``data_dir``'s embedded store for the block (yields the lock's file descriptor)."""
    fd = _lock(data_dir, wait_seconds=wait_seconds)
    try:
        yield fd
    finally:
        os.close(fd)


def _lock(data_dir: Path, *, wait_seconds: float) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            if time.monotonic() >= deadline:
                os.close(fd)
                raise StoreInUse(
                    f"{data_dir / STORE_FILE} is in use by process {owner}: the embedded "
                    "database serves one process at a time (stop the other server, or give "
                    "this one its own DATA_DIR)"
                ) from None
            if not told:
                log.info({"event": "embedded_store_waiting", "owner": owner})
                told = True
            time.sleep(0.1)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def remove(data_dir: Path) -> None:
    """Delete ``data_dir``'s embedded store; the caller owns it (``owned``)."""
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"{STORE_FILE}{suffix}").unlink(missing_ok=True)


# ------------------------------------------------------------------ the client


def open_client(data_dir: Path, *, wait_seconds: float = LOCK_WAIT_SECONDS) -> EmbeddedClient:
    """The client over ``data_dir``'s store, loaded; this process owns the store until ``close``."""
    lock = _lock(data_dir, wait_seconds=wait_seconds)
    try:
        server = _Server(data_dir / STORE_FILE)
    except BaseException:
        os.close(lock)
        raise
    return EmbeddedClient(server, lock)


class EmbeddedClient(_MongomockClient):  # type: ignore[misc]
    """A mongomock client whose databases journal every write to SQLite."""

    def __init__(self, server: _Server, lock: int) -> None:
        super().__init__(tz_aware=True, _store=server)
        self._server = server
        # A client dropped without ``close`` still lets the store go.
        self._release = weakref.finalize(self, _release, server, lock)

    def get_database(self, *args: Any, **kwargs: Any) -> Any:
        return _as(super().get_database(*args, **kwargs), _Database)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """All the writes of the block or none: on an exception, back to the state before it."""
        return self._server.transaction()

    def close(self) -> None:
        """Close the journal and let another process own the store."""
        self._release()


def _release(server: _Server, lock: int) -> None:
    server.close()
    os.close(lock)


def _as(instance: Any, cls: type) -> Any:
    # mongomock builds its databases and collections by its own class names; ours
    # only add methods, so the instances it built take our class.
    if type(instance) is not cls:
        instance.__class__ = cls
    return instance


class _Database(_MongomockDatabase):  # type: ignore[misc]
    def get_collection(self, *args: Any, **kwargs: Any) -> Any:
        return _as(super().get_collection(*args, **kwargs), _Collection)

    def with_options(self, *args: Any, **kwargs: Any) -> Any:
        return _as(super().with_options(*args, **kwargs), _Database)


class _Collection(_MongomockCollection):  # type: ignore[misc]
    """Each write operation runs in one journal transaction; written documents are journaled."""

    @property
    def _server(self) -> _Server:
        server: _Server = self._db_store.server
        return server

    def _ensure_uniques(self, new_data: dict[str, Any]) -> None:
        super()._ensure_uniques(new_data)
        self._store.put(new_data)

    def _insert(self, *args: Any, **kwargs: Any) -> Any:
        with self._server.writing():
            return super()._insert(*args, **kwargs)

    def _update(self, *args: Any, **kwargs: Any) -> Any:
        with self._server.writing():
            return super()._update(*args, **kwargs)

    def _delete(self, *args: Any, **kwargs: Any) -> Any:
        with self._server.writing():
            return super()._delete(*args, **kwargs)

    def _find_and_modify(self, *args: Any, **kwargs: Any) -> Any:
        # Its find and its update under one lock: atomic, as on MongoDB.
        with self._server.writing():
            return super()._find_and_modify(*args, **kwargs)

    def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        with self._server.writing():
            return super().bulk_write(*args, **kwargs)

    def create_index(self, keys: Any, *args: Any, **kwargs: Any) -> str:
        # ``create_indexes`` hands mongomock a dict view of the keys, which compares
        # unequal to the list a reload restores; a list compares equal to both.
        if not isinstance(keys, str):
            keys = list(keys)
        with self._server.writing():
            name: str = super().create_index(keys, *args, **kwargs)
            return name

    def with_options(self, *args: Any, **kwargs: Any) -> Any:
        return _as(super().with_options(*args, **kwargs), _Collection)


# ------------------------------------------------------------------ the stores


class _Server(_ServerStore):  # type: ignore[misc]
    """The databases in memory, and the SQLite journal that holds a copy of them."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._sql = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        os.chmod(path, 0o600)
        self._sql.execute("PRAGMA journal_mode=WAL")
        self._sql.execute("PRAGMA synchronous=NORMAL")
        version = self._sql.execute("PRAGMA user_version").fetchone()[0]
        if version > FORMAT_VERSION:
            self._sql.close()
            raise RuntimeError(
                f"{path} was written by a newer Snapboard; `make reset` starts clean"
            )
        self._sql.executescript(_SCHEMA)
        self._sql.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        self._lock = threading.RLock()
        self._depth = 0
        self._journal_failed = False
        count = self._load()
        log.info({"event": "embedded_store_opened", "path": str(path), "documents": count})

    def __getitem__(self, db_name: str) -> _DatabaseStore:
        try:
            db: _DatabaseStore = self._databases[db_name]
        except KeyError:
            db = self._databases[db_name] = _DatabaseStore(self, db_name)
        return db

    # ---- transactions

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction around the outermost write; committed whatever the operation raised.

        mongomock puts back what a failed operation undoes before it raises, and the
        journal has followed it, so what memory holds is what is committed. Only when
        the journal itself fails is memory reloaded from the file.
        """
        with self._lock:
            if self._depth == 0:
                self._sql.execute("BEGIN IMMEDIATE")
                self._journal_failed = False
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._end(commit=not self._journal_failed)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                raise RuntimeError("a transaction cannot start inside a write")
            self._sql.execute("BEGIN IMMEDIATE")
            self._journal_failed = False
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._end(commit=False)
                raise
            self._depth = 0
            self._end(commit=not self._journal_failed)

    def _end(self, *, commit: bool) -> None:
        if commit:
            try:
                self._sql.execute("COMMIT")
                return
            except sqlite3.Error:
                log.exception({"event": "embedded_store_commit_failed"})
        if self._sql.in_transaction:
            self._sql.execute("ROLLBACK")
        # Memory went ahead of the file: take back what the file holds.
        self._load()
        if commit:
            raise RuntimeError("the embedded database could not commit a write")

    def journal(self, sql: str, *params: Any) -> None:
        """One statement of the current write (the caller holds ``writing``)."""
        try:
            self._sql.execute(sql, params)
        except BaseException:
            self._journal_failed = True
            raise

    def encode(self, document: dict[str, Any]) -> bytes:
        """``document`` as BSON; one that BSON cannot hold fails the write, as pymongo would."""
        try:
            return bson.encode(document)
        except BaseException:
            self._journal_failed = True
            raise

    # ---- loading

    def _load(self) -> int:
        """Replace what memory holds with what the file holds; returns the document count."""
        loaded: dict[str, dict[str, _CollectionStore]] = {}

        def collection(db: str, name: str) -> _CollectionStore:
            names = loaded.setdefault(db, {})
            if name not in names:
                names[name] = _CollectionStore(self[db], name)
            return names[name]

        count = 0
        rows = self._sql.execute(
            "SELECT db, collection, document FROM documents ORDER BY rowid"
        ).fetchall()
        for db, name, data in rows:
            document = bson.decode(data)
            key = document["_id"]
            if isinstance(key, dict):
                key = helpers.hashdict(key)
            collection(db, name)._documents[key] = document
            count += 1
        for db, name, index_name, spec in self._sql.execute(
            "SELECT db, collection, name, spec FROM indexes ORDER BY rowid"
        ):
            index = bson.decode(spec)
            index["key"] = [tuple(pair) for pair in index["key"]]
            _CollectionStoreBase.create_index(collection(db, name), index_name, index)
        for db, name in self._sql.execute("SELECT db, collection FROM collections"):
            collection(db, name)._is_force_created = True
        for db_name, db_store in list(self._databases.items()):
            db_store._collections = loaded.pop(db_name, {})
        for db_name, collections in loaded.items():
            self[db_name]._collections = collections
        return count

    def close(self) -> None:
        with self._lock:
            self._sql.close()


class _DatabaseStore(_DatabaseStoreBase):  # type: ignore[misc]
    def __init__(self, server: _Server, name: str) -> None:
        super().__init__()
        self.server = server
        self.name = name

    def __getitem__(self, col_name: str) -> _CollectionStore:
        try:
            col: _CollectionStore = self._collections[col_name]
        except KeyError:
            col = self._collections[col_name] = _CollectionStore(self, col_name)
        return col

    def rename(self, name: str, new_name: str) -> None:
        with self.server.writing():
            super().rename(name, new_name)
            self[new_name].db = self
            for table in ("documents", "indexes", "collections"):
                self.server.journal(
                    f"UPDATE {table} SET collection = ? WHERE db = ? AND collection = ?",  # noqa: S608
                    new_name,
                    self.name,
                    name,
                )


class _CollectionStore(_CollectionStoreBase):  # type: ignore[misc]
    def __init__(self, db: _DatabaseStore, name: str) -> None:
        super().__init__(name)
        self.db = db

    @property
    def _where(self) -> tuple[str, str]:
        return self.db.name, self.name

    def put(self, document: dict[str, Any]) -> None:
        """Journal ``document`` as it now is (inserted or updated in place)."""
        self.db.server.journal(
            "INSERT INTO documents (db, collection, id, document) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (db, collection, id) DO UPDATE SET document = excluded.document",
            *self._where,
            _id_key(document["_id"]),
            self.db.server.encode(document),
        )

    def __delitem__(self, key: Any) -> None:
        # Deletes, a failed insert's undo, and TTL expiry (which a read can trigger).
        with self.db.server.writing():
            super().__delitem__(key)
            self.db.server.journal(
                "DELETE FROM documents WHERE db = ? AND collection = ? AND id = ?",
                *self._where,
                _id_key(key),
            )

    def create(self) -> None:
        with self.db.server.writing():
            super().create()
            self.db.server.journal(
                "INSERT OR IGNORE INTO collections (db, collection) VALUES (?, ?)", *self._where
            )

    def drop(self) -> None:
        with self.db.server.writing():
            super().drop()
            for table in ("documents", "indexes", "collections"):
                self.db.server.journal(
                    f"DELETE FROM {table} WHERE db = ? AND collection = ?",  # noqa: S608
                    *self._where,
                )

    def create_index(self, index_name: str, index_dict: dict[str, Any]) -> None:
        with self.db.server.writing():
            super().create_index(index_name, index_dict)
            spec = {**index_dict, "key": [list(pair) for pair in index_dict["key"]]}
            self.db.server.journal(
                "INSERT INTO indexes (db, collection, name, spec) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (db, collection, name) DO UPDATE SET spec = excluded.spec",
                *self._where,
                index_name,
                bson.encode(spec),
            )

    def drop_index(self, index_name: str) -> None:
        with self.db.server.writing():
            super().drop_index(index_name)
            self.db.server.journal(
                "DELETE FROM indexes WHERE db = ? AND collection = ? AND name = ?",
                *self._where,
                index_name,
            )

    # ``Collection.drop_indexes`` assigns the attribute.
    @property
    def indexes(self) -> dict[str, Any]:
        return self._indexes

    @indexes.setter
    def indexes(self, value: dict[str, Any]) -> None:
        if getattr(self, "db", None) is None:  # mongomock's own __init__
            self._indexes = value
            return
        with self.db.server.writing():
            for name in list(self._indexes):
                self.drop_index(name)
            for name, index in value.items():
                self.create_index(name, index)


def _id_key(value: Any) -> bytes:
    """The journal's key for a document id: its BSON, exact for every id type."""
    return bson.encode({"_id": value})
