#!/usr/bin/env python3
"""Two builds of serverless-s3-setup against one warm moto, run by turns, so that the noise of
the machine falls on both alike: the median wall time of each flow and their ratio.

    python3 tests/bench/compare.py OLD_BINARY NEW_BINARY [--runs 21]

Build the older one in a worktree that shares this target directory (only the crate itself is
compiled again), and keep a copy, since the newer build goes to the same path:
    root=$PWD; git worktree add /tmp/old REV
    (cd /tmp/old && CARGO_TARGET_DIR=$root/target cargo build --release)
    cp target/release/serverless-s3-setup /tmp/old-bin && cargo build --release
    python3 tests/bench/compare.py /tmp/old-bin target/release/serverless-s3-setup
Uses bench.py's flows, and its venvs (installed on first use).
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
from pathlib import Path

spec = importlib.util.spec_from_file_location("bench", Path(__file__).with_name("bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

FLOWS = ("role --dry-run", "role --method iam", "verify", "access-key")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=21, help="runs per flow and build; the first is not timed")
    args = ap.parse_args()
    bench.venvs()
    builds = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    moto = bench.Moto()
    e = bench.env(moto)
    aws = str(bench.CLI_VENV / "bin" / "aws")
    try:
        for cmd in ("sts get-caller-identity", "s3api list-buckets", "iam list-roles"):
            subprocess.run([aws, "--endpoint-url", moto.url, *cmd.split()], env=e,
                           stdout=subprocess.DEVNULL, check=True)
        n = 0
        for flow in FLOWS:
            times = {k: [] for k in builds}
            for i in range(args.runs):
                for k, binary in builds.items():
                    flows = bench.flows(binary)
                    n += 1
                    bucket = f"cmp-{os.getpid()}-{n}"
                    subprocess.run([aws, "--endpoint-url", moto.url, "s3api", "create-bucket", "--bucket", bucket],
                                   env=e, stdout=subprocess.DEVNULL, check=True)
                    for dep in flows[flow]["setup"]:
                        bench.timed(flows[dep]["tool"](bucket), e)
                    elapsed = bench.timed(flows[flow]["tool"](bucket), e)
                    if i > 0:
                        times[k].append(elapsed * 1000)
            old, new = statistics.median(times["old"]), statistics.median(times["new"])
            print(f"| `{flow}` | {old:.1f} ms | {new:.1f} ms | {new / old:.2f}× |", flush=True)
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
