"""`make run` stops on Ctrl-C or SIGTERM, however many arrive at once
(helpdesk.devstack.__main__.wait_for_stop)."""

from __future__ import annotations

import signal
import subprocess
import sys

WAITER = """
from helpdesk.devstack.__main__ import wait_for_stop
print("ready", flush=True)
wait_for_stop([], poll_seconds=0.05)
print("stopped", flush=True)
"""


def test_a_burst_of_stop_signals_stops_it_every_time() -> None:
    # Ctrl-C reaches make and the stack, and make passes a TERM on: signals come
    # in bursts. The old handler (threading.Event.set) deadlocked in ~30 % of these.
    for _ in range(5):
        waiter = subprocess.Popen([sys.executable, "-c", WAITER], stdout=subprocess.PIPE, text=True)
        assert waiter.stdout is not None
        assert waiter.stdout.readline().strip() == "ready"
        for _ in range(300):
            waiter.send_signal(signal.SIGTERM)
        try:
            out, _ = waiter.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            waiter.kill()
            waiter.communicate()
            raise AssertionError("wait_for_stop hung after a burst of SIGTERMs") from None
        assert out.strip() == "stopped"
        assert waiter.returncode == 0
