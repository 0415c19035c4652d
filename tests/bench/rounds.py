#!/usr/bin/env python3
"""Round trips: each flow of serverless-s3-setup through a proxy that adds a fixed latency to
every request (100 ms by default) and lets concurrent requests overlap, in front of moto.

    python3 tests/bench/rounds.py               # builds the release binary first
    python3 tests/bench/rounds.py --latency 50  # another latency (ms)

From a laptop far from us-east-1 every sequential request is felt; what a flow costs there is
its rounds: wall time / latency. Requests that go out together overlap in the proxy and cost
one round. The table gives, per flow: the rounds (median of the runs); the rounds the latency
added, against the same flow run straight to moto (moto handles concurrent requests one at a
time, under Python's GIL, so each round there also carries moto's own time); the requests; and
the longest chain of requests each of which started after the one before it had been
answered, as the proxy's log shows it (the dependency depth: the rounds AWS would see). The bucket has SSE-KMS with a customer-managed key, as in the
issue that set the targets. Wall time is measured here, in a benchmark, and never asserted in
a test (tests/it/rounds.rs asserts the request log's order instead).
"""
import argparse
import http.client
import http.server
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import aws_cli, env, prepare, report, timed  # noqa: E402

TIDB = "380838443567"
EXT = "rounds-external-id"


class LatencyProxy:
    """Forwards every request to moto after `latency` seconds, each on its own thread, and logs
    when each was received and answered."""

    def __init__(self, upstream_port, latency):
        proxy = self
        self.log = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without this, Nagle's algorithm and
            # the client's delayed ACK hold the body back some 40 ms, a round that is not the
            # tool's.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def forward(self):
                start = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(latency)
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()
                end = time.perf_counter()
                action = self.headers.get("X-Amz-Target") or what(self.command, self.path, body)
                with proxy.lock:
                    proxy.log.append((start, end, action))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            log, self.log = self.log, []
        return sorted(log)

    def stop(self):
        self.server.shutdown()


def what(method, path, body):
    """The request's action: the query protocols' Action, else S3's method and subresource."""
    text = body.decode(errors="replace")
    for part in text.split("&"):
        if part.startswith("Action="):
            return part[len("Action="):]
    sub = path.split("?", 1)[1].split("=")[0] if "?" in path else ""
    return f"s3:{method}?{sub}"


def depth(log):
    """The longest chain of requests each started after the previous one was answered."""
    best = []
    for i, (start, end, _) in enumerate(log):
        before = [best[j] for j, (_, e, _) in enumerate(log[:i]) if e <= start]
        best.append(1 + max(before, default=0))
    return max(best, default=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency", type=float, default=100, help="added to every request, in ms")
    ap.add_argument("--runs", type=int, default=3, help="runs per flow (the median is reported)")
    args, binary, moto = prepare(ap)
    latency = args.latency / 1000
    proxy = LatencyProxy(moto.port, latency)
    direct = env(moto)
    slow = dict(direct, AWS_ENDPOINT_URL=proxy.url)
    cli = aws_cli(moto)
    try:
        for cmd in ("sts get-caller-identity", "s3api list-buckets", "iam list-roles", "kms list-keys",
                    "cloudformation list-stacks"):
            cli(*cmd.split())
        key = cli("kms", "create-key", "--query", "KeyMetadata.Arn", "--output", "text").strip()

        def tool(*a):
            return [binary, *a]

        def role(b, method, *extra):
            return tool("role", "--method", method, "--uri", f"s3://{b}/d/", "--access", "import",
                        "--tidb-account-id", TIDB, "--external-id", EXT, "--yes", *extra)

        flows = [
            ("role --method iam, create", [], lambda b: role(b, "iam"), "≤6"),
            ("the same, rerun with nothing to change", [lambda b: role(b, "iam")], lambda b: role(b, "iam"), "≤3"),
            ("role (CloudFormation), create", [], lambda b: role(b, "cloudformation"), "≤7"),
            ("access-key, create", [],
             lambda b: tool("access-key", "--uri", f"s3://{b}/d/", "--access", "import", "--yes", "-o", "json"),
             "≤6"),
            ("verify", [lambda b: role(b, "iam")],
             lambda b: tool("verify", "--role-arn", f"arn:aws:iam::123456789012:role/tidb-role-import-{b}-d",
                            "--uri", f"s3://{b}/d/", "--access", "import", "--tidb-account-id", TIDB,
                            "--external-id", EXT), "≤4"),
            ("teardown --role-name (IAM role)", [lambda b: role(b, "iam")],
             lambda b: tool("teardown", "--role-name", f"tidb-role-import-{b}-d", "--yes"), "≤4"),
        ]
        rows = []
        n = 0

        def bucket_with_setup(setup):
            nonlocal n
            n += 1
            bucket = f"rounds-{os.getpid()}-{n}"
            cli("s3api", "create-bucket", "--bucket", bucket)
            cli("s3api", "put-bucket-encryption", "--bucket", bucket, "--server-side-encryption-configuration",
                '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"'
                + key + '"}}]}')
            for step in setup:
                subprocess.run(step(bucket), env=direct, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True)
            return bucket

        for name, setup, run, target in flows:
            rounds, added, requests, chains = [], [], [], []
            for _ in range(args.runs):
                # The same flow straight to moto: the tool's and moto's own time, which the
                # latency adds to.
                here = timed(run(bucket_with_setup(setup)), direct)
                bucket = bucket_with_setup(setup)
                proxy.take()
                wall = timed(run(bucket), slow)
                log = proxy.take()
                rounds.append(wall / latency)
                added.append((wall - here) / latency)
                requests.append(len(log))
                chains.append(depth(log))
            rows.append((name, statistics.median(rounds), statistics.median(added), max(requests),
                         max(chains), target))
    finally:
        proxy.stop()
        moto.stop()
    out = [f"Each flow through a proxy adding {args.latency:.0f} ms to every request (median of {args.runs} runs; "
           f"the bucket under SSE-KMS).", "",
           "| flow | rounds (wall / latency) | rounds the latency added | requests | longest chain | target |",
           "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, r, a, q, c, target in rows:
        out.append(f"| `{name}` | {r:.1f} | {a:.1f} | {q} | {c} | {target} |")
    report(out, "rounds")


if __name__ == "__main__":
    main()
