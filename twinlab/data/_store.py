"""`Store`: the embedded DuckDB database behind a project (a file, or memory) and its versioned schema.

Tables (schema version 2):

=============  ===============================================================================================
table          rows
=============  ===============================================================================================
entities       one per person, road or machine: ``entity_id``, ``kind``, ``attributes`` (JSON text)
streams        one per kind of measurement: ``stream_id``, ``quantity``, ``unit`` (canonical), ``kind``
               (``level``: a reading; ``rate``: a value in force until the next; ``event``: an amount at an instant)
observations   ``entity_id``, ``stream_id``, ``time_utc``, ``value`` (canonical unit), ``unit``, ``source``,
               ``ingest_id``; one row per (entity, stream, time)
quarantine     every rejected input value: ``ingest_id``, ``source``, ``row_number``, ``raw`` (JSON text),
               ``reason``
ingests        one per ingest: its content fingerprint (SHA-256) and counts
twin_versions  saved twins: ``name``, ``version``, ``saved_utc``, ``payload`` (a `twinlab.io` file's bytes)
=============  ===============================================================================================

Migrations are numbered and applied in order inside a transaction; ``schema_version`` records each one applied, so
opening an older project file upgrades it and a newer one is refused. Every statement that carries a user value
binds it as a parameter.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from twinlab.data._units import canonical_unit

__all__ = ["SCHEMA_VERSION", "STREAM_KINDS", "Store"]

STREAM_KINDS = ("level", "rate", "event")

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the tables
        "CREATE TABLE entities (entity_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, attributes VARCHAR)",
        "CREATE TABLE streams (stream_id VARCHAR PRIMARY KEY, quantity VARCHAR NOT NULL, unit VARCHAR NOT NULL, "
        "kind VARCHAR NOT NULL)",
        "CREATE TABLE ingests (ingest_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, "
        "ingested_utc TIMESTAMP NOT NULL, n_values BIGINT, n_stored BIGINT, n_quarantined BIGINT)",
        "CREATE TABLE observations (entity_id VARCHAR NOT NULL, stream_id VARCHAR NOT NULL, time_utc TIMESTAMP NOT "
        "NULL, value DOUBLE NOT NULL, unit VARCHAR NOT NULL, source VARCHAR NOT NULL, ingest_id VARCHAR NOT NULL, "
        "PRIMARY KEY (entity_id, stream_id, time_utc))",
        "CREATE TABLE quarantine (ingest_id VARCHAR NOT NULL, source VARCHAR NOT NULL, row_number BIGINT, "
        "raw VARCHAR NOT NULL, reason VARCHAR NOT NULL)",
    ),
    (  # 2: saved twins, and a lookup of ingests by fingerprint
        "CREATE TABLE twin_versions (name VARCHAR NOT NULL, version INTEGER NOT NULL, saved_utc TIMESTAMP NOT NULL, "
        "payload BLOB NOT NULL, PRIMARY KEY (name, version))",
        "CREATE INDEX ingests_by_fingerprint ON ingests (fingerprint)",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)


class Store:
    """A project's observations, quarantine and saved twins in one DuckDB database.

    Args:
        path: the database file (created if absent), or ``":memory:"`` (the default) for a store that lives as long
            as the object.

    Example:
        >>> s = Store()
        >>> s.schema_version, s.count("observations")
        (2, 0)
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path)
        self._migrate()

    # -- schema ---------------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_utc TIMESTAMP)"
        )
        row = first(self.con.execute("SELECT max(version) FROM schema_version").fetchall())
        current = int(row[0]) if row and row[0] is not None else 0
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has store schema version {current}, newer than this twinlab's {SCHEMA_VERSION}. "
                f"Fix: upgrade twinlab to open it."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            self.con.execute("BEGIN TRANSACTION")
            try:
                for statement in _MIGRATIONS[version - 1]:
                    self.con.execute(statement)
                self.con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, _now()])
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        """The schema version of this store."""
        row = first(self.con.execute("SELECT max(version) FROM schema_version").fetchall())
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the database connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- entities and streams -------------------------------------------------------------------------------------
    def add_entity(self, entity_id: str, kind: str, attributes: dict[str, Any] | None = None) -> None:
        """Declare an entity (idempotent: an existing one keeps its first declaration)."""
        self.con.execute(
            "INSERT INTO entities VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [entity_id, kind, json.dumps(attributes or {}, sort_keys=True)],
        )

    def add_stream(self, stream_id: str, quantity: str, kind: str) -> None:
        """Declare a stream of ``quantity`` (stored in its canonical unit) of ``kind`` level, rate or event."""
        if kind not in STREAM_KINDS:
            raise ValueError(f"stream kind must be one of {STREAM_KINDS}; got {kind!r}.")
        unit = canonical_unit(quantity)
        row = first(self.con.execute("SELECT quantity, kind FROM streams WHERE stream_id = ?", [stream_id]).fetchall())
        if row is not None and tuple(row) != (quantity, kind):
            raise ValueError(
                f"stream {stream_id!r} is already declared as a {row[1]} of {row[0]}; cannot redeclare it as a {kind} "
                f"of {quantity}. Fix: use another stream name."
            )
        self.con.execute(
            "INSERT INTO streams VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [stream_id, quantity, unit, kind]
        )

    def streams(self) -> pd.DataFrame:
        """The declared streams."""
        return self.con.execute("SELECT * FROM streams ORDER BY stream_id").df()

    def entities(self) -> list[str]:
        """The declared entity ids, sorted."""
        return [r[0] for r in self.con.execute("SELECT entity_id FROM entities ORDER BY entity_id").fetchall()]

    # -- reading ----------------------------------------------------------------------------------------------------
    def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        tables = ("entities", "streams", "observations", "quarantine", "ingests", "twin_versions")
        if table not in tables:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(tables)}")
        row = first(self.con.execute(f"SELECT count(*) FROM {table}").fetchall())  # table checked against a fixed list
        return int(row[0]) if row else 0

    def observations(
        self, entity_id: str | None = None, stream_id: str | None = None, start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        """Stored observations, sorted by entity, stream and time; filters are optional (times UTC, end excluded)."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("entity_id", entity_id), ("stream_id", stream_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        for op, value in ((">=", start), ("<", end)):
            if value is not None:
                clauses.append(f"time_utc {op} ?")
                params.append(utc_naive(value))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.con.execute(
            f"SELECT * FROM observations {where} ORDER BY entity_id, stream_id, time_utc", params
        ).df()

    def quarantine(self, ingest_id: str | None = None) -> pd.DataFrame:
        """Rejected values with their reasons (all, or one ingest's)."""
        if ingest_id is None:
            return self.con.execute("SELECT * FROM quarantine ORDER BY ingest_id, row_number").df()
        return self.con.execute("SELECT * FROM quarantine WHERE ingest_id = ? ORDER BY row_number", [ingest_id]).df()

    def ingests(self) -> pd.DataFrame:
        """One row per ingest with its counts."""
        return self.con.execute("SELECT * FROM ingests ORDER BY ingested_utc").df()

    # -- twins ------------------------------------------------------------------------------------------------------
    def save_twin(self, name: str, obj: Any) -> int:
        """Save ``obj`` (anything `twinlab.io` can save) as the next version of ``name``; returns the version."""
        from twinlab.io import dumps

        payload = dumps(obj)
        return self._in_transaction(lambda: self._insert_twin(name, payload))

    def _insert_twin(self, name: str, payload: bytes) -> int:
        row = first(self.con.execute("SELECT max(version) FROM twin_versions WHERE name = ?", [name]).fetchall())
        version = (int(row[0]) if row and row[0] is not None else 0) + 1
        self.con.execute("INSERT INTO twin_versions VALUES (?, ?, ?, ?)", [name, version, _now(), payload])
        return version

    def load_twin(self, name: str, version: int | None = None) -> Any:
        """Load version ``version`` (default: the latest) of the twin ``name``."""
        from twinlab.io import loads

        if version is None:
            row = first(
                self.con.execute(
                    "SELECT payload FROM twin_versions WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
                ).fetchall()
            )
        else:
            row = first(
                self.con.execute(
                    "SELECT payload FROM twin_versions WHERE name = ? AND version = ?", [name, int(version)]
                ).fetchall()
            )
        if row is None:
            raise KeyError(f"no saved twin {name!r}" + ("" if version is None else f" version {version}"))
        return loads(bytes(row[0]))

    def twin_versions(self, name: str) -> list[int]:
        """The saved versions of ``name``, oldest first."""
        rows = self.con.execute("SELECT version FROM twin_versions WHERE name = ? ORDER BY version", [name]).fetchall()
        return [int(r[0]) for r in rows]

    def _in_transaction(self, fn: Callable[[], Any]) -> Any:
        self.con.execute("BEGIN TRANSACTION")
        try:
            out = fn()
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return out


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def first(rows: list[Any]) -> Any:
    """The first row of a fetched result, or None (fetchall, not fetchone: DuckDB wants results finished)."""
    return rows[0] if rows else None


def utc_naive(t: Any) -> pd.Timestamp:
    """``t`` as a UTC timestamp without a zone (how the store keeps times); a naive ``t`` is taken as UTC."""
    ts = pd.Timestamp(t)
    return ts if ts.tzinfo is None else ts.tz_convert("UTC").tz_localize(None)
