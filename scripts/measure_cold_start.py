"""Time from process start to the first response served, over fresh processes.

For each run, a fresh stand-in for the Lambda Runtime API on loopback hands the function one API
Gateway event and records when the response arrives; the process is then killed.

usage: measure_cold_start.py BINARY EVENT_FILE RUNS STDERR_FILE   (environment passed to the function)
prints: median p90 min max (milliseconds), the median time to the first poll of the Runtime API
(the init phase: the process is ready for its first event), and the response status codes seen
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def runtime_api(event: bytes):
    """A Runtime API that serves `event` once and then holds further polls; returns (server, state)."""
    state = {"served": False, "responded": threading.Event(), "status": None, "polled": None}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if state["polled"] is None:
                state["polled"] = time.perf_counter()
            if not self.path.endswith("/invocation/next") or state["served"]:
                # Second poll after answering: hold it until the process is killed.
                state["responded"].wait(30)
                return
            state["served"] = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:scim")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(event)))
            self.end_headers()
            self.wfile.write(event)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "/response" in self.path:
                answer = json.loads(body or b"{}")
                # An HTTP function answers a statusCode; the events function, its failed records.
                state["status"] = answer.get(
                    "statusCode", f"{len(answer.get('batchItemFailures', []))} failed records"
                )
            else:
                state["status"] = f"error: {body[:200]!r}"
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            state["responded"].set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


def main():
    binary, event_file, runs, stderr_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    event = open(event_file, "rb").read()
    base_env = dict(os.environ)
    base_env.update({
        "AWS_LAMBDA_FUNCTION_NAME": "scim",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/scim",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "RUST_LOG": "warn",
    })
    timings, inits, statuses = [], [], set()
    with open(stderr_file, "ab") as stderr_log:
        for _ in range(runs):
            server, state = runtime_api(event)
            env = dict(base_env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
            started = time.perf_counter()
            proc = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr_log)
            ok = state["responded"].wait(30)
            elapsed = (time.perf_counter() - started) * 1000
            proc.kill()
            proc.wait()
            server.shutdown()
            server.server_close()
            if not ok:
                sys.exit(f"{binary} did not respond within 30 s (its stderr: {stderr_file})")
            timings.append(elapsed)
            inits.append((state["polled"] - started) * 1000)
            statuses.add(state["status"])
    timings.sort()
    p90 = timings[min(len(timings) - 1, int(round(0.9 * (len(timings) - 1))))]
    print(
        f"{statistics.median(timings):.1f} {p90:.1f} {timings[0]:.1f} {timings[-1]:.1f} "
        f"{statistics.median(inits):.1f} {','.join(map(str, statuses))}"
    )


if __name__ == "__main__":
    main()
