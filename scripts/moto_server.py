"""Local DynamoDB for tests and development: moto's server, with two fixes.

1. Requests are serialised. moto's TransactWriteItems deep-copies the table for rollback without
   any lock, so under concurrent requests it fails ("dictionary changed size during iteration")
   and is not atomic. Real DynamoDB transactions are serialisable; one global lock gives the same.
2. A transaction snapshots only the items it touches, not the whole table, so its cost does not
   grow with the table (a deep copy of a few thousand items took seconds per transaction).

With --state FILE, every successful write is appended to FILE and replayed at start, so the data
survives a restart (moto itself keeps everything in memory).

usage: moto_server.py PORT [--state FILE]
"""

import copy
import io
import json
import os
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app


WRITES = {
    "CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive",
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
}


class Serialised:
    """One request at a time; successful writes optionally appended to a state file."""

    def __init__(self, app, state=None):
        self.app = app
        self.state = state
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            statuses = []

            def record_status(status, headers, exc_info=None):
                statuses.append(status)
                return start_response(status, headers, exc_info)

            # Materialise the body inside the lock: WSGI apps may compute lazily.
            out = list(self.app(environ, record_status))
            operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
            if self.state and operation in WRITES and statuses and statuses[0].startswith("200"):
                entry = {
                    "target": environ.get("HTTP_X_AMZ_TARGET"),
                    "authorization": environ.get("HTTP_AUTHORIZATION", ""),
                    "content_type": environ.get("CONTENT_TYPE", "application/x-amz-json-1.0"),
                    "body": body.decode("utf-8"),
                }
                with open(self.state, "a") as f:
                    f.write(json.dumps(entry) + "\n")
            return out


def replay(app, state):
    """Re-applies the recorded writes, in order, straight to the app (not recorded again)."""
    from werkzeug.test import Client

    client = Client(app)
    count = 0
    with open(state) as f:
        for line in f:
            entry = json.loads(line)
            client.post(
                "/",
                data=entry["body"],
                headers={
                    "X-Amz-Target": entry["target"],
                    "Authorization": entry["authorization"],
                    "Content-Type": entry["content_type"],
                },
            )
            count += 1
    print(f"replayed {count} recorded writes from {state}", flush=True)


class _KeepTables:
    """Stands in for the `copy` module inside moto's transact_write_items: tables are not copied."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, dynamodb_models.Table):
            return value
        return copy.deepcopy(value, memo)


def _key_of(table, op):
    key = op.get("Key") or op.get("Item") or {}
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _restore(table, hash_value, range_value, old):
    if range_value is None:
        if old is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = old
    elif old is None:
        table.items[hash_value].pop(range_value, None)
    else:
        table.items[hash_value][range_value] = old


_original_transact = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    saved = []
    try:
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = self.tables.get(op.get("TableName"))
            if table is not None:
                hash_value, range_value = _key_of(table, op)
                old = table.get_item(hash_value, range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(old)))
    except Exception:
        saved = None  # malformed request: let moto report it, with its own whole-table rollback
    if saved is None:
        return _original_transact(self, transact_items)
    dynamodb_models.copy = _KeepTables
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, hash_value, range_value, old in reversed(saved):
            _restore(table, hash_value, range_value, old)
        raise
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items


def main() -> None:
    port = int(sys.argv[1])
    state = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--state" else None
    app = DomainDispatcherApplication(create_backend_app)
    if state and os.path.exists(state):
        replay(app, state)
    run_simple(
        "127.0.0.1",
        port,
        Serialised(app, state),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
