#!/usr/bin/env python3
"""Benchmark: each flow of serverless-s3-setup against a warm moto, beside the same calls made
the way a person following the TiDB Cloud docs would script them: one `aws` process per call.

    python3 tests/bench/bench.py            # builds the release binary first
    python3 tests/bench/bench.py --runs 9   # more runs per flow (the median is reported)

The machines are noisy, so it reports ratios measured side by side in one run, not absolute
promises. It prints a Markdown table (also written to target/bench.md): median wall time per
flow for the tool and for the AWS CLI, their ratio, the requests the tool made against the
minimum the flow needs, and the tool's peak memory.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TMP = ROOT / "target" / "tmp"
MOTO_VENV = TMP / "venv"
CLI_VENV = TMP / "bench-venv"
TIDB = "380838443567"
EXT = "bench-external-id"


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def venvs():
    """moto from the tests' pinned requirements; the AWS CLI in a venv of its own."""
    req = ROOT / "tests" / "support" / "requirements.txt"
    if not (MOTO_VENV / "bin" / "moto_server").exists():
        sh(sys.executable, "-m", "venv", str(MOTO_VENV))
        sh(str(MOTO_VENV / "bin" / "pip"), "install", "-q", "-r", str(req))
    if not (CLI_VENV / "bin" / "aws").exists():
        sh(sys.executable, "-m", "venv", str(CLI_VENV))
        sh(str(CLI_VENV / "bin" / "pip"), "install", "-q", "awscli==1.46.3")


def prepare(ap):
    """Reads the command line (`ap`'s arguments and `--binary`), then gives the arguments, the
    binary to measure (`--binary`, else the release build, built now) and a moto started for the
    run, with its venvs."""
    ap.add_argument("--binary", help="use this binary instead of building target/release")
    args = ap.parse_args()
    TMP.mkdir(parents=True, exist_ok=True)
    binary = args.binary
    if not binary:
        sh("cargo", "build", "--release", "--quiet", cwd=ROOT)
        binary = str(ROOT / "target" / "release" / "serverless-s3-setup")
    venvs()
    return args, binary, Moto()


def report(lines, name):
    """Prints the table and keeps it as target/NAME.md."""
    text = "\n".join(lines)
    print(text)
    (ROOT / "target" / f"{name}.md").write_text(text + "\n")


def aws_cli(moto):
    """The AWS CLI against moto, its stdout as text."""
    return lambda *a: subprocess.run([str(CLI_VENV / "bin" / "aws"), "--endpoint-url", moto.url, *a], env=env(moto),
                                     stdout=subprocess.PIPE, check=True).stdout.decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(TMP / f"bench-moto-{self.port}.log", "w+")
        self.proc = subprocess.Popen(
            [str(MOTO_VENV / "bin" / "python"), str(ROOT / "tests" / "support" / "moto_launcher.py"),
             "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.PIPE, stdout=self.log, stderr=self.log)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("moto did not start")

    def requests(self):
        """Requests moto has logged so far (werkzeug writes one line each)."""
        self.log.flush()
        return sum(1 for line in open(self.log.name) if '" 2' in line or '" 4' in line or '" 5' in line)

    def stop(self):
        self.proc.terminate()


def env(moto):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
             AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
             AWS_CONFIG_FILE=str(TMP / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(TMP / "no-aws-credentials"),
             NO_COLOR="1")
    return e


def timed(argv, e):
    """Wall time of one process."""
    start = time.perf_counter()
    p = subprocess.run(argv, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{p.stderr.decode(errors='replace')}")
    return elapsed


def peak_kib(argv, e):
    """Peak RSS of one process, through GNU time. (A child of Python reports Python's own
    memory as its peak: Linux carries the high-water mark across exec.) None without it."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if not gnu_time:
        return None
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run([gnu_time, "-f", "%M", "-o", out.name, *argv], env=e, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return int(out.read().strip().splitlines()[-1])


def aws(*args):
    return [str(CLI_VENV / "bin" / "aws"), "--endpoint-url", "{url}", *args]


def policy_doc(bucket):
    return ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion",'
            f'"s3:PutObject"],"Resource":"arn:aws:s3:::{bucket}/d/*"}},{{"Effect":"Allow","Action":["s3:ListBucket"],'
            f'"Resource":"arn:aws:s3:::{bucket}"}}]}}')


TRUST = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::' + TIDB +
         ':root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"' + EXT + '"}}}]}')


def flows(binary):
    """Per flow: setup before each run, the tool's argv, the AWS CLI's calls, and the minimum
    number of requests the flow needs (its reads, its writes, and the checks after a setup)."""
    tool = lambda *a: [binary, *a]
    role = lambda b, m: tool("role", "--method", m, "--uri", f"s3://{b}/d/", "--access", "both",
                             "--tidb-account-id", TIDB, "--external-id", EXT, "--role-name", f"r-{b}", "--yes")
    arn = "arn:aws:iam::123456789012"
    reads = lambda b: [aws("sts", "get-caller-identity"), aws("s3api", "get-bucket-location", "--bucket", b),
                       aws("s3api", "get-bucket-encryption", "--bucket", b)]
    # An import (these flows' access is both) lists its folder: empty here, so no HeadObject
    # follows for the objects' keys.
    listed = lambda b: [aws("s3api", "list-objects-v2", "--bucket", b, "--prefix", "d/", "--max-keys", "10")]
    checks = lambda b: [aws("s3api", "get-bucket-policy", "--bucket", b),
                        aws("s3api", "get-bucket-ownership-controls", "--bucket", b)]
    # After a setup, the role or user is read back as `verify` reads it.
    role_back = lambda b: [aws("iam", "get-role", "--role-name", f"r-{b}"),
                           aws("iam", "list-attached-role-policies", "--role-name", f"r-{b}"),
                           aws("iam", "list-role-policies", "--role-name", f"r-{b}")]
    # The version this run wrote is known (v1 for a new policy): its document is read at once.
    managed_back = lambda name: [aws("iam", "get-policy-version", "--policy-arn", f"{arn}:policy/{name}",
                                     "--version-id", "v1")]
    return {
        "role --method iam": dict(
            setup=[], tool=lambda b: role(b, "iam"), minimum=15,
            cli=lambda b: reads(b) + listed(b) + checks(b) + [
                aws("iam", "get-role", "--role-name", f"r-{b}"),
                aws("iam", "get-policy", "--policy-arn", f"{arn}:policy/r-{b}-policy"),
                aws("iam", "create-policy", "--policy-name", f"r-{b}-policy", "--policy-document", policy_doc(b)),
                aws("iam", "create-role", "--role-name", f"r-{b}", "--assume-role-policy-document", TRUST),
                aws("iam", "attach-role-policy", "--role-name", f"r-{b}", "--policy-arn", f"{arn}:policy/r-{b}-policy")]
            + role_back(b) + managed_back(f"r-{b}-policy")),
        "role --method cloudformation": dict(
            setup=[], tool=lambda b: role(b, "cloudformation"), minimum=15,
            cli=lambda b: reads(b) + listed(b) + checks(b) + [
                aws("iam", "get-role", "--role-name", f"r-{b}"),
                aws("cloudformation", "create-stack", "--stack-name", f"r-{b}", "--template-body",
                    f"file://{ROOT}/templates/tidb-cloud-s3-access.yaml", "--capabilities", "CAPABILITY_NAMED_IAM",
                    "--parameters", f"ParameterKey=RoleName,ParameterValue=r-{b}",
                    f"ParameterKey=PolicyName,ParameterValue=r-{b}-policy",
                    f"ParameterKey=TiDBCloudAccountId,ParameterValue={TIDB}",
                    f"ParameterKey=ExternalId,ParameterValue={EXT}", f"ParameterKey=BucketName,ParameterValue={b}",
                    "ParameterKey=ObjectPrefix,ParameterValue=d", "ParameterKey=Access,ParameterValue=both"),
                aws("cloudformation", "wait", "stack-create-complete", "--stack-name", f"r-{b}"),
                aws("cloudformation", "describe-stacks", "--stack-name", f"r-{b}")] + role_back(b) + [
                aws("iam", "get-role-policy", "--role-name", f"r-{b}", "--policy-name", f"r-{b}-policy")]),
        "access-key": dict(
            # Then the new key, tried as itself: STS accepts it, and it lists the folder.
            setup=[], minimum=19,
            tool=lambda b: tool("access-key", "--uri", f"s3://{b}/d/", "--access", "both", "--user-name", f"u-{b}", "--yes",
                                  "-o", "json"),
            cli=lambda b: reads(b) + listed(b) + checks(b) + [
                aws("iam", "get-user", "--user-name", f"u-{b}"),
                aws("iam", "get-policy", "--policy-arn", f"{arn}:policy/u-{b}-policy"),
                aws("iam", "create-policy", "--policy-name", f"u-{b}-policy", "--policy-document", policy_doc(b)),
                aws("iam", "create-user", "--user-name", f"u-{b}"),
                aws("iam", "attach-user-policy", "--user-name", f"u-{b}", "--policy-arn", f"{arn}:policy/u-{b}-policy"),
                aws("iam", "create-access-key", "--user-name", f"u-{b}"),
                aws("iam", "get-user", "--user-name", f"u-{b}"),
                aws("iam", "list-attached-user-policies", "--user-name", f"u-{b}"),
                aws("iam", "list-user-policies", "--user-name", f"u-{b}"),
                aws("iam", "list-groups-for-user", "--user-name", f"u-{b}")] + managed_back(f"u-{b}-policy")
            + [aws("sts", "get-caller-identity")] + listed(b)),
        "verify": dict(
            # The bucket's owner is asked too (HeadBucket with ExpectedBucketOwner): a bucket of
            # another account must grant in its own policy as well.
            setup=["role --method iam"], minimum=12,
            tool=lambda b: tool("verify", "--role-arn", f"{arn}:role/r-{b}", "--uri", f"s3://{b}/d/", "--access", "both",
                                "--tidb-account-id", TIDB, "--external-id", EXT),
            cli=lambda b: [aws("iam", "get-role", "--role-name", f"r-{b}"),
                           aws("iam", "list-attached-role-policies", "--role-name", f"r-{b}"),
                           aws("iam", "list-role-policies", "--role-name", f"r-{b}"),
                           aws("iam", "get-policy", "--policy-arn", f"{arn}:policy/r-{b}-policy"),
                           aws("iam", "get-policy-version", "--policy-arn", f"{arn}:policy/r-{b}-policy", "--version-id", "v1"),
                           aws("s3api", "get-bucket-location", "--bucket", b),
                           aws("s3api", "get-bucket-encryption", "--bucket", b)] + listed(b) + checks(b)
            + [aws("s3api", "head-bucket", "--bucket", b, "--expected-bucket-owner", "123456789012")]),
        "teardown": dict(
            # Besides the CLI's eight calls, GetPolicy: a policy is deleted only if this tool
            # made it and nothing else uses it.
            setup=["role --method iam"], minimum=9,
            tool=lambda b: tool("teardown", "--role-name", f"r-{b}", "--yes"),
            cli=lambda b: [aws("iam", "get-role", "--role-name", f"r-{b}"),
                           aws("iam", "list-attached-role-policies", "--role-name", f"r-{b}"),
                           aws("iam", "list-role-policies", "--role-name", f"r-{b}"),
                           aws("iam", "list-instance-profiles-for-role", "--role-name", f"r-{b}"),
                           aws("iam", "detach-role-policy", "--role-name", f"r-{b}", "--policy-arn", f"{arn}:policy/r-{b}-policy"),
                           aws("iam", "list-policy-versions", "--policy-arn", f"{arn}:policy/r-{b}-policy"),
                           aws("iam", "delete-policy", "--policy-arn", f"{arn}:policy/r-{b}-policy"),
                           aws("iam", "delete-role", "--role-name", f"r-{b}")]),
        "role --dry-run": dict(
            setup=[], minimum=6,
            tool=lambda b: role(b, "iam") + ["--dry-run"],
            cli=lambda b: reads(b) + listed(b) + [aws("iam", "get-role", "--role-name", f"r-{b}"),
                                                  aws("iam", "get-policy", "--policy-arn", f"{arn}:policy/r-{b}-policy")]),
        "--help": dict(setup=[], minimum=0, tool=lambda b: tool("--help"), cli=lambda b: [aws("--version")]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=6, help="runs per flow; the first measures memory")
    args, binary, moto = prepare(ap)
    e = env(moto)
    try:
        # Warm every service moto loads lazily.
        for cmd in ("sts get-caller-identity", "s3api list-buckets", "iam list-roles", "kms list-keys",
                    "cloudformation list-stacks"):
            subprocess.run([str(CLI_VENV / "bin" / "aws"), "--endpoint-url", moto.url, *cmd.split()], env=e,
                           stdout=subprocess.DEVNULL, check=True)
        all_flows = flows(binary)
        rows = []
        n = 0
        for name, f in all_flows.items():
            tool_times, cli_times, rss, reqs = [], [], [], []
            for i in range(args.runs):
                for who in ("tool", "cli"):
                    n += 1
                    bucket = f"bench-{os.getpid()}-{n}"
                    subprocess.run([str(CLI_VENV / "bin" / "aws"), "--endpoint-url", moto.url, "s3api", "create-bucket",
                                    "--bucket", bucket], env=e, stdout=subprocess.DEVNULL, check=True)
                    for dep in f["setup"]:
                        timed(all_flows[dep]["tool"](bucket), e)
                    if who == "tool" and i == 0:
                        # One run, not timed, for the peak memory.
                        rss.append(peak_kib(f["tool"](bucket), e))
                    elif who == "tool":
                        before = moto.requests()
                        tool_times.append(timed(f["tool"](bucket), e))
                        time.sleep(0.05)
                        reqs.append(moto.requests() - before)
                    else:
                        start = time.perf_counter()
                        for call in f["cli"](bucket):
                            subprocess.run([a.replace("{url}", moto.url) for a in call], env=e,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        cli_times.append(time.perf_counter() - start)
            tool_ms = statistics.median(tool_times) * 1000
            cli_ms = statistics.median(cli_times) * 1000
            peak = None if None in rss else max(rss) / 1024
            rows.append((name, tool_ms, cli_ms, len(f["cli"]("b")), cli_ms / tool_ms, max(reqs), f["minimum"], peak))
        size = os.path.getsize(binary) / 1e6
    finally:
        moto.stop()
    out = [f"Median of {args.runs - 1} timed runs against a warm moto on this machine ({os.cpu_count()} cores); "
           f"release binary {size:.1f} MB.", "",
           "| flow | serverless-s3-setup | AWS CLI (processes) | faster | requests (minimum) | peak memory |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, t, c, procs, ratio, r, minimum, mem in rows:
        memory = "n/a" if mem is None else f"{mem:.1f} MiB"
        out.append(f"| `{name}` | {t:.0f} ms | {c:.0f} ms ({procs}) | {ratio:.0f}× | {r} ({minimum}) | {memory} |")
    report(out, "bench")


if __name__ == "__main__":
    main()
