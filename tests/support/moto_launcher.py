"""Starts moto's server for the test suite.

Two changes from stock `moto_server`:
- With IAM enforcement on, stock moto rejects any request whose form body holds a space or a
  newline (it re-encodes `%20` as `+` before checking the signature). Key lookup and policy
  evaluation still run; only the signature comparison is skipped.
- The server exits when its stdin closes, so that it never outlives the test process.
"""
import os
import sys
import threading

from moto.iam.access_control import IAMRequestBase

IAMRequestBase.check_signature = lambda self: None


def _exit_with_parent():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=_exit_with_parent, daemon=True).start()

from moto.server import main  # noqa: E402

sys.exit(main())
