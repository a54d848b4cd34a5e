"""Real processes for the fault tests: a spare port, waiting for a condition, stopping."""

import socket
import subprocess
import time


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen | None) -> None:
    """Terminate a process started by a test (kill it if it will not go)."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until(condition, *, seconds: float, what: str, every: float = 0.05):
    """The first truthy answer of ``condition``; fails naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")
