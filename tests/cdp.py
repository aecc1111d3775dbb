"""Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): messages
are JSON ended by a NUL byte on file descriptors 3 (to the browser) and 4 (from it). Standard
library only; enough to evaluate script in a page, which is what the tests and the benchmark
need (clicks, the back button, paint timing)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.chromium import BINARY, QUIET


class CdpError(AssertionError):
    """Chromium answered a DevTools call with an error."""


class PageSession:
    """One headless browser showing one page."""

    def __init__(self, url: str, profile: Path, *flags: str) -> None:
        assert BINARY is not None, "no chromium on PATH"
        to_browser, self._send_fd = os.pipe()
        self._read_fd, from_browser = os.pipe()

        def wire() -> None:  # in the child: the pipe ends become fds 3 and 4
            low, high = os.dup(to_browser), os.dup(from_browser)
            os.dup2(low, 3)
            os.dup2(high, 4)

        flags = (*(f for f in QUIET if not f.startswith("--virtual-time")), *flags)
        self._process = subprocess.Popen(
            [BINARY, *flags, "--remote-debugging-pipe", f"--user-data-dir={profile}", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0
        try:
            self._session = self._attach()
        except BaseException:  # no __exit__ follows a failed __init__: leave no browser behind
            self._process.kill()
            self._process.wait(timeout=30)
            os.close(self._send_fd)
            os.close(self._read_fd)
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:  # a clean close lets the browser finish its files (a net log's closing brackets)
            self.call("Browser.close", {}, session=False)
            self._process.wait(timeout=30)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=30)
        os.close(self._send_fd)
        os.close(self._read_fd)

    def evaluate(self, expression: str) -> Any:
        """The expression's value (awaited when it is a promise), as JSON data."""
        answer = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"the page raised: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                answer = self.call(
                    "Runtime.evaluate", {"expression": expression, "returnByValue": True}
                )
            except CdpError:  # the page is navigating (its context went away): not yet
                answer = {"result": {}}
            value = answer["result"].get("value")  # an exception (no page yet) is a no
            if value and "exceptionDetails" not in answer:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")

    def call(self, method: str, params: dict[str, Any], session: bool = True) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _attach(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            targets = self.call("Target.getTargets", {}, session=False)["targetInfos"]
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                found = self.call(
                    "Target.attachToTarget",
                    {"targetId": pages[0]["targetId"], "flatten": True},
                    session=False,
                )
                return str(found["sessionId"])
            time.sleep(0.05)
        raise AssertionError("the browser opened no page")

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read_fd], [], [], 60)
            chunk = os.read(self._read_fd, 1 << 16) if ready else b""
            if not chunk:
                raise AssertionError("the browser closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        data: dict[str, Any] = json.loads(message)
        return data
