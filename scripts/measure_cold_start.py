"""Time from process start to the first response served, over fresh processes.

A stand-in for the Lambda Runtime API on loopback hands the function one API Gateway event and
records when the response arrives; the process is then killed and a new one started.

usage: measure_cold_start.py BINARY EVENT_FILE RUNS   (environment passed through to the function)
prints: median p90 min max (milliseconds) and the response status code
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Runtime(BaseHTTPRequestHandler):
    event = b""
    responded = threading.Event()
    served = threading.Event()
    status = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        if Runtime.served.is_set():
            # The function asks for its next event after answering: hold it until killed.
            Runtime.responded.wait(30)
            time.sleep(5)
            return
        Runtime.served.set()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:scim")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(Runtime.event)))
        self.end_headers()
        self.wfile.write(Runtime.event)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "/response" in self.path:
            Runtime.status = json.loads(body or b"{}").get("statusCode")
        else:
            Runtime.status = f"error: {body[:200]!r}"
        self.send_response(202)
        self.end_headers()
        Runtime.responded.set()


def main():
    binary, event_file, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    Runtime.event = open(event_file, "rb").read()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "scim",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/scim",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "RUST_LOG": "warn",
    })
    timings, statuses = [], set()
    for _ in range(runs):
        Runtime.responded.clear()
        Runtime.served.clear()
        Runtime.status = None
        started = time.perf_counter()
        proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not Runtime.responded.wait(30):
            proc.kill()
            sys.exit(f"{binary} did not respond within 30 s")
        timings.append((time.perf_counter() - started) * 1000)
        statuses.add(Runtime.status)
        proc.kill()
        proc.wait()
    timings.sort()
    p90 = timings[min(len(timings) - 1, int(round(0.9 * (len(timings) - 1))))]
    print(f"{statistics.median(timings):.1f} {p90:.1f} {timings[0]:.1f} {timings[-1]:.1f} {','.join(map(str, statuses))}")
    server.shutdown()


if __name__ == "__main__":
    main()
