#!/usr/bin/env python3
"""Measures a Lambda function binary's start-up: it plays the Lambda Runtime API on 127.0.0.1,
starts the binary, and reports the time from exec to its first `GET .../invocation/next` (init)
and to its answer to one invocation (first response). Standard library only.

usage: startup.py BINARY EVENT_JSON [RUNS] [--expect-error] [KEY=VALUE ...]

--expect-error: the event is one the function rejects without any network (an error answer
counts as the first response); otherwise an error answer fails the measurement.
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time


def measure(binary, event, env, expect_error=False):
    marks = {}
    done = threading.Event()

    class Api(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.endswith("/invocation/next"):
                if "init" in marks:
                    # Second poll: the function is idle; hold until we stop it.
                    done.wait(10)
                    self.send_response(500)
                    self.end_headers()
                    return
                marks["init"] = time.perf_counter()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", "00000000-0000-0000-0000-000000000001")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:startup")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            marks["body"] = self.rfile.read(length)
            marks["path"] = self.path
            marks["response"] = time.perf_counter()
            self.send_response(202)
            self.end_headers()
            done.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.perf_counter() + 20
    while not done.wait(0.05) and proc.poll() is None and time.perf_counter() < deadline:
        pass
    ok = done.is_set()
    if not ok and proc.poll() is not None:
        raise SystemExit(f"{binary}: exited with status {proc.returncode} before answering")
    proc.kill()
    proc.wait()
    server.shutdown()
    if not ok or "init" not in marks:
        raise SystemExit(f"{binary}: no answer within 20 s")
    if ("/error" in marks["path"]) != expect_error:
        raise SystemExit(f"{binary}: unexpected answer to the test invocation at {marks['path']}: "
                         f"{marks['body'][:300]!r}")
    return (marks["init"] - start) * 1000, (marks["response"] - start) * 1000


def main():
    binary, event_file = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rest = sys.argv[4:]
    expect_error = "--expect-error" in rest
    env = dict(kv.split("=", 1) for kv in rest if kv != "--expect-error")
    with open(event_file) as f:
        event = json.load(f)
    inits, firsts = [], []
    for _ in range(runs):
        i, r = measure(binary, event, env, expect_error)
        inits.append(i)
        firsts.append(r)
    print(f"init {statistics.median(inits):.1f} ms (median of {runs}; min {min(inits):.1f}), "
          f"first response {statistics.median(firsts):.1f} ms (min {min(firsts):.1f})")


if __name__ == "__main__":
    main()
