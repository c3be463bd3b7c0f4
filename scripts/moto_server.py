"""Local DynamoDB for tests and development: moto's server, with two fixes.

1. Requests are serialised. moto's TransactWriteItems deep-copies the table for rollback without
   any lock, so under concurrent requests it fails ("dictionary changed size during iteration")
   and is not atomic. Real DynamoDB transactions are serialisable; one global lock gives the same.
2. A transaction snapshots only the items it touches, not the whole table, so its cost does not
   grow with the table (a deep copy of a few thousand items took seconds per transaction).

usage: moto_server.py PORT
"""

import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app


class Serialised:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialise the body inside the lock: WSGI apps may compute lazily.
            return list(self.app(environ, start_response))


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
    app = Serialised(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
