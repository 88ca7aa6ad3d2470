"""AWS answered from a recording, with a fixed latency, for benchmarks of the product's own
work.

A moto server answers one call at a time in one process, so a benchmark against it
measures moto as much as the product. `AwsReplay` records every AWS call a run makes (the
HTTP answer moto gave) and then answers the same calls of later runs from the recording,
each after `latency` seconds in the calling thread: concurrent calls overlap, as they do
against DynamoDB and SQS. A call is matched by its operation, the MessageSid its body
names (if any) and how many times that pair was called before in the run, so the same
records handed to the handler again get the same answers; a call the recording does not
have goes to moto and is counted.

It patches botocore's `Endpoint._send`, the one place every client of every session sends
an HTTP request, so it reaches the per-thread sessions the product's table proxy makes.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.endpoint import Endpoint

_SID = re.compile(rb"SM[0-9a-f]{32}")


class _Raw:
    """The raw body botocore reads an answer from."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _call_of(request: Any) -> tuple[str, str | None]:
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    body = request.body or b""
    body = body if isinstance(body, bytes) else str(body).encode()
    sid = _SID.search(body)
    return target or f"{request.method} {request.url}", sid.group().decode() if sid else None


class AwsReplay:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self._answers: dict[tuple[str, str | None, int], tuple[int, dict, bytes]] = {}
        self._seen: Counter = Counter()
        self._lock = threading.Lock()
        self.replayed = 0
        self.unrecorded: Counter = Counter()

    def _key(self, request: Any) -> tuple[str, str | None, int]:
        call = _call_of(request)
        with self._lock:
            ordinal = self._seen[call]
            self._seen[call] += 1
        return (*call, ordinal)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Send every call to moto, as usual, and keep its answer."""
        original = Endpoint._send
        self._seen.clear()

        def send(endpoint: Endpoint, request: Any) -> Any:
            key = self._key(request)
            response = original(endpoint, request)
            content = response.content
            with self._lock:
                self._answers[key] = (response.status_code, dict(response.headers), content)
            return AWSResponse(response.url, response.status_code, response.headers, _Raw(content))

        Endpoint._send = send  # type: ignore[method-assign]
        try:
            yield
        finally:
            Endpoint._send = original  # type: ignore[method-assign]

    @contextmanager
    def replaying(self) -> Iterator[None]:
        """Answer every recorded call from the recording after `latency` seconds."""
        original = Endpoint._send
        self._seen.clear()

        def send(endpoint: Endpoint, request: Any) -> Any:
            answer = self._answers.get(self._key(request))
            if answer is None:
                with self._lock:
                    self.unrecorded[_call_of(request)[0]] += 1
                return original(endpoint, request)
            time.sleep(self.latency)
            status, headers, content = answer
            with self._lock:
                self.replayed += 1
            return AWSResponse(request.url, status, headers, _Raw(content))

        Endpoint._send = send  # type: ignore[method-assign]
        try:
            yield
        finally:
            Endpoint._send = original  # type: ignore[method-assign]
