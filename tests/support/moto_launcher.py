"""Starts moto's server for the test suite.

Two changes from stock `moto_server`:
- With IAM enforcement on, stock moto rejects any request whose form body holds a space or a
  newline (it re-encodes `%20` as `+` before checking the signature). Key lookup and policy
  evaluation still run; only the signature comparison is skipped.
- The server exits when its stdin closes, so that it never outlives the test process.
- GetAccountAuthorizationDetails answers HTTP 500 once any role holds an inline policy that
  CloudFormation made (moto keeps that document as a dict, then URL-quotes it as a string).
  AWS returns every inline policy URL-encoded ("GetAccountAuthorizationDetails", IAM API
  Reference: PolicyDetail.PolicyDocument), which the patched property does.
"""
import json
import os
import sys
import threading
from urllib import parse

from moto.iam.access_control import IAMRequestBase
from moto.iam.models import Role

IAMRequestBase.check_signature = lambda self: None


def _role_policy_list(self):
    return [
        {"PolicyName": name, "PolicyDocument": parse.quote(doc if isinstance(doc, str) else json.dumps(doc))}
        for name, doc in self.policies.items()
    ]


Role.role_policy_list = property(_role_policy_list)


def _exit_with_parent():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=_exit_with_parent, daemon=True).start()

from moto.server import main  # noqa: E402

sys.exit(main())
