"""Local DynamoDB for tests and development: moto's server, with requests serialised.

moto's TransactWriteItems deep-copies the table for rollback without any lock, so under concurrent
requests it fails ("dictionary changed size during iteration") and is not atomic. Real DynamoDB
transactions are serialisable; one global lock around the backend gives the same guarantee here.

usage: moto_server.py PORT
"""

import sys
import threading

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


def main() -> None:
    port = int(sys.argv[1])
    app = Serialised(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
