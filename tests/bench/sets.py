#!/usr/bin/env python3
"""Many setups from one file: 50 IAM roles through a proxy that adds a fixed latency (100 ms by
default) to every request and lets concurrent requests overlap, in front of moto.

    python3 tests/bench/sets.py                  # builds the release binary first
    python3 tests/bench/sets.py --roles 20 --parallel 16

It reports, at the default parallelism unless told otherwise:
  - `apply -f` from nothing;
  - the same `apply -f` again, with nothing to change;
  - `plan -f` after one role was edited by hand (its policy widened);
  - `apply -f` of another file of as many roles through a proxy that also throttles every
    request past N a second (20 by default), as IAM does (HTTP 400 `Throttling`, "Rate
    exceeded"; S3's requests get S3's 503 `SlowDown`): the throttled answers, and the entries
    that failed (the target is 0).
Wall time is measured here, never asserted in a test. moto answers one request at a time, so
part of each wall time is moto's own: the table gives the same run straight to moto beside it.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import TMP, aws_cli, env, prepare, report  # noqa: E402
from rounds import LatencyProxy  # noqa: E402

TIDB = "380838443567"


class ThrottlingProxy(LatencyProxy):
    """A latency proxy that answers IAM's throttling error to every request past `limit` in
    the last second."""

    def __init__(self, upstream_port, latency, limit):
        super().__init__(upstream_port, latency)
        self.limit = limit
        self.sent = collections.deque()
        self.throttled = 0
        handler = self.server.RequestHandlerClass
        forward = handler.forward
        proxy = self

        def throttled_forward(h):
            with proxy.lock:
                now = time.monotonic()
                while proxy.sent and now - proxy.sent[0] > 1.0:
                    proxy.sent.popleft()
                over = len(proxy.sent) >= proxy.limit
                if over:
                    proxy.throttled += 1
                else:
                    proxy.sent.append(now)
            if not over:
                return forward(h)
            body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
            if b"Action=" in body:
                # IAM's and STS's answer ("Throttling", IAM API Reference, Common Errors).
                status, body = 400, (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                                     b"<Message>Rate exceeded</Message></Error><RequestId>proxy</RequestId>"
                                     b"</ErrorResponse>")
            else:
                # S3's ("SlowDown", Amazon S3 API Reference, Error responses).
                status, body = 503, (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                                     b"<Message>Please reduce your request rate.</Message>"
                                     b"<RequestId>proxy</RequestId></Error>")
            h.send_response(status)
            h.send_header("Content-Type", "text/xml")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        handler.do_GET = handler.do_POST = handler.do_PUT = handler.do_DELETE = handler.do_HEAD = throttled_forward


def setups_file(path, name, bucket, roles):
    lines = [f'name = "{name}"', f'tidb_account_id = "{TIDB}"', 'method = "iam"']
    for i in range(roles):
        lines += ["", "[[role]]", f'uri = "s3://{bucket}/dir{i}/"', 'access = "import"',
                  'external_ids = ["cluster-prod"]']
    path.write_text("\n".join(lines) + "\n")


def run(argv, e):
    """Wall time and the finished process."""
    start = time.perf_counter()
    p = subprocess.run(argv, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - start, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency", type=float, default=100, help="added to every request, in ms")
    ap.add_argument("--roles", type=int, default=50)
    ap.add_argument("--parallel", type=int, help="--parallel for the tool [default: its own]")
    ap.add_argument("--limit", type=int, default=20, help="requests a second past which the second proxy throttles")
    args, binary, moto = prepare(ap)
    latency = args.latency / 1000
    proxy = LatencyProxy(moto.port, latency)
    throttling = ThrottlingProxy(moto.port, latency, args.limit)
    direct = env(moto)
    slow = dict(direct, AWS_ENDPOINT_URL=proxy.url)
    limited = dict(direct, AWS_ENDPOINT_URL=throttling.url)
    cli = aws_cli(moto)
    parallel = ["--parallel", str(args.parallel)] if args.parallel else []
    rows = []

    def measure(name, argv, e, via, ok_codes=(0,), target=""):
        via.take()
        wall, p = run(argv, e)
        log = via.take()
        if p.returncode not in ok_codes:
            raise SystemExit(f"{name}: exit {p.returncode}\n{p.stderr.decode(errors='replace')}")
        rows.append((name, wall, len(log), target))
        return p

    try:
        cli("sts", "get-caller-identity")
        files = []
        for n, name in enumerate(["bench-set", "bench-set-straight", "bench-set-throttled"]):
            bucket = f"sets-{os.getpid()}-{n}"
            cli("s3api", "create-bucket", "--bucket", bucket)
            path = TMP / f"{name}-{os.getpid()}.toml"
            setups_file(path, f"{name}-{os.getpid()}", bucket, args.roles)
            files.append((path, bucket))
        (path, bucket), (straight, _), (limited_file, _) = files
        apply = lambda f: [binary, "apply", "-f", str(f), "--yes", *parallel]
        plan = lambda f: [binary, "plan", "-f", str(f), "--detailed-exit-code", *parallel]
        # Straight to moto: moto's own share of each wall time.
        here_wall, _ = run(apply(straight), direct)
        measure(f"apply -f, {args.roles} roles from nothing", apply(path), slow, proxy, target="≤3 s")
        here_again, _ = run(apply(straight), direct)
        measure("the same, rerun with nothing to change", apply(path), slow, proxy, target="≤1.5 s")
        role = f"tidb-role-import-{bucket}-dir7"
        arn = f"arn:aws:iam::123456789012:policy/{role}-policy"
        version = cli("iam", "get-policy", "--policy-arn", arn, "--query", "Policy.DefaultVersionId",
                      "--output", "text").strip()
        doc = cli("iam", "get-policy-version", "--policy-arn", arn, "--version-id", version, "--query",
                  "PolicyVersion.Document", "--output", "json")
        widened = json.loads(doc)
        widened["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        cli("iam", "create-policy-version", "--policy-arn", arn, "--policy-document", json.dumps(widened),
            "--set-as-default")
        measure("plan -f after one role was edited by hand", plan(path), slow, proxy, ok_codes=(3,))
        throttling.throttled = 0
        p = measure(f"apply -f, {args.roles} roles, throttled past {args.limit} requests/s",
                    apply(limited_file) + ["-o", "json"], limited, throttling, ok_codes=(0, 1), target="0 failed")
        summary = json.loads(p.stdout)["summary"]
    finally:
        proxy.stop()
        throttling.stop()
        moto.stop()
    out = [f"{args.roles} IAM roles from one file, through a proxy adding {args.latency:.0f} ms to every request "
           f"(parallelism {args.parallel or 'default'}). Straight to moto, the same apply took {here_wall:.1f} s "
           f"and its rerun {here_again:.1f} s: moto's own time, which each wall time below includes.", "",
           "| run | wall time | requests | target |", "| --- | ---: | ---: | --- |"]
    for name, wall, requests, target in rows:
        out.append(f"| `{name}` | {wall:.2f} s | {requests} | {target} |")
    out.append("")
    out.append(f"Throttled run: {throttling.throttled} answers were `Throttling`; {summary['failed']} entries failed, "
               f"{summary['created']} were created.")
    report(out, "sets")


if __name__ == "__main__":
    main()
