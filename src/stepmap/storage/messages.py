"""Local SQS queues, SNS topics and EventBridge buses, kept in one SQLite file of the state directory
(``<state dir>/messages.sqlite``).

What it keeps: queues (by name) and their messages (body, attributes, MD5, visibility deadline, receive
count, deleted flag: a deleted message stays listable as history), topic subscriptions (an SNS topic ARN ->
an SQS queue ARN, raw or wrapped in SNS's JSON envelope), everything published to a topic, and every event
put on a bus. Several processes (the coordinator, workers running Distributed Map children, the endpoint
server) share it: SQLite in WAL mode, one short transaction per call.

Local conveniences, stated: a queue or topic is created by its first use (AWS would answer
``QueueDoesNotExist`` / ``NotFound`` for one that was never created); FIFO ordering is the send order.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from typing import Any

__all__ = ["MessageStore", "queue_name_of"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    md5 TEXT NOT NULL, attributes TEXT NOT NULL, sent REAL NOT NULL, visible REAL NOT NULL,
    receipt TEXT, receives INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, source TEXT);
CREATE INDEX IF NOT EXISTS messages_queue ON messages (queue, deleted, visible);
CREATE TABLE IF NOT EXISTS subscriptions (
    arn TEXT PRIMARY KEY, topic TEXT NOT NULL, protocol TEXT NOT NULL, endpoint TEXT NOT NULL,
    raw INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS publications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, id TEXT NOT NULL, subject TEXT,
    message TEXT NOT NULL, attributes TEXT NOT NULL, sent REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, bus TEXT NOT NULL, event TEXT NOT NULL,
    sent REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rules (name TEXT PRIMARY KEY, bus TEXT NOT NULL, rule TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL, emitted INTEGER NOT NULL,
    PRIMARY KEY (bucket, key));
"""


def queue_name_of(queue: str) -> str:
    """The queue's name from a queue URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``, a local
    endpoint's ``http://127.0.0.1:PORT/ACCOUNT/NAME``), a queue ARN, or the name itself."""
    if queue.startswith("arn:"):
        return queue.rsplit(":", 1)[-1]
    return queue.rstrip("/").rsplit("/", 1)[-1]


def md5_of(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()  # SQS checksum


class MessageStore:
    def __init__(self, state_dir: str, *, region: str = "us-east-1", account: str = "123456789012") -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "messages.sqlite")
        self.region, self.account = region, account
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        return {"state_dir": self.state_dir, "region": self.region, "account": self.account}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["state_dir"], region=state["region"], account=state["account"])  # type: ignore[misc]

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            os.makedirs(self.state_dir, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._local.db, self._local.pid = db, os.getpid()
        return db

    # -- SQS -------------------------------------------------------------------------------------------
    def queue_url(self, name: str, endpoint: str | None = None) -> str:
        base = endpoint.rstrip("/") if endpoint else f"https://sqs.{self.region}.amazonaws.com"
        return f"{base}/{self.account}/{name}"

    def create_queue(self, name: str) -> None:
        self._db().execute("INSERT OR IGNORE INTO queues VALUES (?, ?)", (name, time.time()))

    def queues(self) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT name FROM queues ORDER BY name")]

    def has_queue(self, name: str) -> bool:
        return self._db().execute("SELECT 1 FROM queues WHERE name = ?", (name,)).fetchone() is not None

    def send_message(
        self,
        queue: str,
        body: str,
        attributes: dict[str, Any] | None = None,
        *,
        delay: float = 0,
        source: str | None = None,
    ) -> tuple[str, str]:
        """Enqueue ``body``; return (MessageId, MD5OfMessageBody)."""
        name = queue_name_of(queue)
        message_id, md5, now = str(uuid.uuid4()), md5_of(body), time.time()
        db = self._db()
        with db:
            db.execute("INSERT OR IGNORE INTO queues VALUES (?, ?)", (name, now))
            db.execute(
                "INSERT INTO messages (queue, id, body, md5, attributes, sent, visible, source)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (name, message_id, body, md5, json.dumps(attributes or {}), now, now + delay, source),
            )
        return message_id, md5

    def receive(
        self, queue: str, max_messages: int = 1, visibility_timeout: float = 30
    ) -> list[dict[str, Any]]:
        """Up to ``max_messages`` visible messages, hidden for ``visibility_timeout`` seconds."""
        name, now = queue_name_of(queue), time.time()
        db = self._db()
        out = []
        with db:
            db.execute("BEGIN IMMEDIATE")  # no two receivers get the same message
            rows = db.execute(
                "SELECT seq, id, body, md5, attributes, receives, sent FROM messages"
                " WHERE queue = ? AND deleted = 0 AND visible <= ? ORDER BY seq LIMIT ?",
                (name, now, max_messages),
            ).fetchall()
            for seq, message_id, body, md5, attributes, receives, sent in rows:
                receipt = f"{seq}:{uuid.uuid4()}"
                db.execute(
                    "UPDATE messages SET visible = ?, receipt = ?, receives = receives + 1 WHERE seq = ?",
                    (now + visibility_timeout, receipt, seq),
                )
                out.append(
                    {
                        "MessageId": message_id,
                        "ReceiptHandle": receipt,
                        "MD5OfBody": md5,
                        "Body": body,
                        "Attributes": {
                            "ApproximateReceiveCount": str(receives + 1),
                            "SentTimestamp": str(int(sent * 1000)),
                        },
                        "MessageAttributes": json.loads(attributes),
                    }
                )
        return out

    def delete(self, queue: str, receipt: str) -> bool:
        cur = self._db().execute(
            "UPDATE messages SET deleted = 1 WHERE queue = ? AND receipt = ?", (queue_name_of(queue), receipt)
        )
        return cur.rowcount > 0

    def change_visibility(self, queue: str, receipt: str, timeout: float) -> bool:
        cur = self._db().execute(
            "UPDATE messages SET visible = ? WHERE queue = ? AND receipt = ? AND deleted = 0",
            (time.time() + timeout, queue_name_of(queue), receipt),
        )
        return cur.rowcount > 0

    def purge(self, queue: str) -> None:
        self._db().execute("UPDATE messages SET deleted = 1 WHERE queue = ?", (queue_name_of(queue),))

    def messages(self, queue: str | None = None) -> list[dict[str, Any]]:
        """Every message sent (deleted ones too, marked), oldest first: what `stepmap messages` lists."""
        sql = "SELECT queue, id, body, attributes, sent, receives, deleted, source FROM messages"
        args: tuple[Any, ...] = ()
        if queue is not None:
            sql, args = sql + " WHERE queue = ?", (queue_name_of(queue),)
        return [
            {
                "queue": q,
                "messageId": i,
                "body": b,
                "messageAttributes": json.loads(a),
                "sent": s,
                "receiveCount": r,
                "deleted": bool(d),
                **({"source": src} if src else {}),
            }
            for q, i, b, a, s, r, d, src in self._db().execute(sql + " ORDER BY seq", args)
        ]

    # -- SNS -------------------------------------------------------------------------------------------
    def subscribe(self, topic: str, protocol: str, endpoint: str, *, raw: bool = False) -> str:
        if protocol != "sqs":
            raise ValueError(f"stepmap delivers SNS messages to SQS subscriptions only, not {protocol!r}")
        arn = f"{topic}:{uuid.uuid5(uuid.NAMESPACE_URL, topic + '|' + endpoint)}"
        self._db().execute(
            "INSERT OR REPLACE INTO subscriptions VALUES (?,?,?,?,?)",
            (arn, topic, protocol, endpoint, int(raw)),
        )
        return arn

    def subscriptions(self, topic: str | None = None) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT arn, topic, protocol, endpoint, raw FROM subscriptions ORDER BY arn"
        )
        return [
            {"SubscriptionArn": a, "TopicArn": t, "Protocol": p, "Endpoint": e, "RawMessageDelivery": bool(r)}
            for a, t, p, e, r in rows
            if topic is None or t == topic
        ]

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> str:
        """Record a publication and deliver it to the topic's SQS subscriptions; return its MessageId."""
        message_id, now = str(uuid.uuid4()), time.time()
        attributes = attributes or {}
        self._db().execute(
            "INSERT INTO publications (topic, id, subject, message, attributes, sent) VALUES (?,?,?,?,?,?)",
            (topic, message_id, subject, message, json.dumps(attributes), now),
        )
        for sub in self.subscriptions(topic):
            if sub["RawMessageDelivery"]:
                body = message
            else:  # SNS's notification envelope, as an SQS subscriber receives it
                envelope: dict[str, Any] = {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic,
                    "Message": message,
                    "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                    + f".{int(now * 1000) % 1000:03d}Z",
                    "SignatureVersion": "1",
                    "UnsubscribeURL": f"https://sns.{self.region}.amazonaws.com/?Action=Unsubscribe"
                    f"&SubscriptionArn={sub['SubscriptionArn']}",
                }
                if subject is not None:
                    envelope["Subject"] = subject
                if attributes:
                    envelope["MessageAttributes"] = {
                        k: {"Type": v.get("DataType", "String"), "Value": v.get("StringValue", "")}
                        for k, v in attributes.items()
                    }
                body = json.dumps(envelope)
            self.send_message(sub["Endpoint"], body, source=topic)
        return message_id

    def publications(self, topic: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT topic, id, subject, message, attributes, sent FROM publications"
        args: tuple[Any, ...] = ()
        if topic is not None:
            sql, args = sql + " WHERE topic = ?", (topic,)
        return [
            {
                "topicArn": t,
                "messageId": i,
                "subject": s,
                "message": m,
                "messageAttributes": json.loads(a),
                "sent": ts,
            }
            for t, i, s, m, a, ts in self._db().execute(sql + " ORDER BY seq", args)
        ]

    # -- EventBridge -----------------------------------------------------------------------------------
    def put_event(self, bus: str, event: dict[str, Any]) -> str:
        event_id = str(uuid.uuid4())
        event = {**event, "id": event_id}
        self._db().execute(
            "INSERT INTO events (id, bus, event, sent) VALUES (?,?,?,?)",
            (event_id, bus, json.dumps(event), time.time()),
        )
        return event_id

    def events(self, bus: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT bus, event FROM events", ()
        if bus is not None:
            sql, args = sql + " WHERE bus = ?", (bus,)  # type: ignore[assignment]
        return [{"bus": b, **json.loads(e)} for b, e in self._db().execute(sql + " ORDER BY seq", args)]

    def events_after(self, seq: int, limit: int = 500) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self._db().execute(
            "SELECT seq, bus, event FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [(n, b, json.loads(e)) for n, b, e in rows]

    # -- rules (stepmap.events.rules) and the object watcher's memory -----------------------------------
    def put_rule(self, name: str, bus: str, rule: dict[str, Any]) -> None:
        self._db().execute("INSERT OR REPLACE INTO rules VALUES (?,?,?)", (name, bus, json.dumps(rule)))

    def delete_rule(self, name: str) -> bool:
        return self._db().execute("DELETE FROM rules WHERE name = ?", (name,)).rowcount > 0

    def rules(self) -> list[dict[str, Any]]:
        rows = self._db().execute("SELECT name, bus, rule FROM rules ORDER BY name")
        return [{"Name": n, "EventBusName": b, **json.loads(r)} for n, b, r in rows]

    def cursor(self, name: str) -> int:
        row = self._db().execute("SELECT seq FROM cursors WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, name: str, seq: int) -> None:
        self._db().execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (name, seq))

    def known_objects(self) -> dict[tuple[str, str], tuple[str, bool]]:
        rows = self._db().execute("SELECT bucket, key, etag, emitted FROM objects")
        return {(b, k): (e, bool(x)) for b, k, e, x in rows}

    def note_objects(
        self,
        seen: list[tuple[str, str, str]],
        emitted: list[tuple[str, str, str, dict[str, Any]]],
        baseline: list[tuple[str, str, str]] | None = None,
    ) -> None:
        """Remember objects seen once (``seen``: not yet stable) or already there (``baseline``: never
        announced), and record Object Created events for ``emitted`` ones in the same transaction as
        remembering them: an event is put exactly once."""
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,0)", seen)
            db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,1)", baseline or [])
            for bucket, key, etag, event in emitted:
                db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,1)", (bucket, key, etag))
                event_id = str(uuid.uuid4())
                db.execute(
                    "INSERT INTO events (id, bus, event, sent) VALUES (?,?,?,?)",
                    (event_id, "default", json.dumps({**event, "id": event_id}), time.time()),
                )
