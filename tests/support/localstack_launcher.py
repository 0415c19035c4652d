"""Starts LocalStack for the test suite, in this process, and exits when stdin closes, so that
it never outlives the test process that started it. The gateway address and the folders come
from the environment (GATEWAY_LISTEN, LOCALSTACK_VOLUME_DIR)."""
import os
import sys
import threading


def _exit_with_parent():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=_exit_with_parent, daemon=True).start()

from localstack.runtime.main import main  # noqa: E402

sys.exit(main())
