"""A small local Lambda runtime: each function runs in worker processes of its own.

A worker is one execution environment: a long-lived child process (the venv's Python, so
the third-party dependencies are the deps layer) with the function's code directory and
its layers' `python/` directories on PYTHONPATH and the function's resolved environment.
It imports the handler once (cold start) and then serves invocations one at a time.

Concurrency: like Lambda, one environment handles one invocation at a time; a function
gets up to `max_workers` environments (default 4) and further invocations wait for a free
one. A worker that crashes is replaced on the next invocation; one that runs past the
function's timeout is killed and the invocation reports `Sandbox.Timedout`.

Stopping kills every worker at once (SIGKILL): an idle one holds no work, and a busy one's
invocation is abandoned, reporting `Runtime.Abandoned`, as an invocation ends unfinished
when its execution environment goes away. The caller decides what an abandoned invocation
leaves (the pollers delete nothing of its batch, so its messages come back after their
visibility timeout). No worker gets a clean exit: a Python process's teardown costs a
tenth of a second or more of CPU each, which a stop on a busy machine would wait for.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from smsgw_tools.local.moto_server import DUMMY_ENVIRONMENT
from smsgw_tools.local.resources import Stack
from smsgw_tools.local.worker import CALLS_VARIABLE
from smsgw_tools.template.model import Function

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit on the init phase
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # synchronous invocation request and response
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
ABANDONED = "Runtime.Abandoned"
"""The error of an invocation in flight when the runtime stopped."""
STOP_SECONDS = 1.0
"""How long stopping waits for the killed workers' output to be copied to the log."""


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation: the result, or Lambda's error shape."""

    request_id: str
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0


class _LogPump:
    """Copies a worker's output to the shared log, each line tagged with the function."""

    def __init__(self, sink: IO[str], lock: threading.Lock) -> None:
        self._sink = sink
        self._lock = lock

    def follow(self, tag: str, stream: IO[str]) -> threading.Thread:
        def run() -> None:
            for line in stream:
                with self._lock:
                    self._sink.write(f"{tag} | {line}")
                    self._sink.flush()
            stream.close()

        thread = threading.Thread(target=run, name=f"log-{tag}", daemon=True)
        thread.start()
        return thread


class _Worker:
    """One execution environment: a child process and the two pipes to talk to it."""

    def __init__(self, function: Function, environment: dict[str, str], logs: _LogPump) -> None:
        child_read, self._write_fd = os.pipe()
        self._read_fd, child_write = os.pipe()
        self._buffer = b""
        self._lock = threading.Lock()
        self._killed = False
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter and worker script
            [
                sys.executable,
                "-P",
                str(WORKER_SCRIPT),
                function.handler,
                str(child_read),
                str(child_write),
            ],
            pass_fds=(child_read, child_write),
            env=environment,
            cwd=function.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Ctrl-C in a terminal reaches the stack, which stops its workers itself.
            start_new_session=True,
        )
        os.close(child_read)
        os.close(child_write)
        assert self.process.stdout is not None
        self._log_thread = logs.follow(function.logical_id, self.process.stdout)

    def initialise(self) -> dict[str, Any] | None:
        """Wait for the import of the handler; None when it succeeded, else the error."""
        reply = self._read_line(time.monotonic() + INIT_TIMEOUT_SECONDS)
        if reply is None:
            return {"errorType": "Runtime.ExitError", "errorMessage": "init did not complete"}
        return None if reply.get("ready") else reply["error"]

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Send one invocation; its reply, or None if the worker died or timed out."""
        try:
            os.write(self._write_fd, (json.dumps(request) + "\n").encode())
        except OSError:
            return None
        return self._read_line(time.monotonic() + timeout)

    def _read_line(self, deadline: float) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._read_fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def kill(self) -> None:
        """Kill the process and release its pipes."""
        if self.close():
            self.reap(time.monotonic() + STOP_SECONDS)

    def close(self) -> bool:
        """Begin killing: SIGKILL, and its input closed. False if it was killed already."""
        with self._lock:
            if self._killed:
                return False
            self._killed = True
        self.process.kill()
        os.close(self._write_fd)
        return True

    def reap(self, deadline: float) -> None:
        """Wait for the killed process, release its pipes and let its last output reach
        the log (until `deadline`)."""
        self.process.wait()
        os.close(self._read_fd)
        self._log_thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def abandon(self) -> None:
        """End the invocation in flight: SIGKILL. The invoking thread then reads EOF and
        releases the worker itself (its pipes are in that thread's hands)."""
        self.process.kill()


class FunctionPool:
    """The execution environments of one function."""

    def __init__(
        self, function: Function, environment: dict[str, str], logs: _LogPump, max_workers: int
    ) -> None:
        self.function = function
        self._environment = environment
        self._logs = logs
        self._max_workers = max_workers
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._available = threading.Condition()
        self._stopped = False

    def invoke(self, event: Any, request_id: str | None = None) -> Invocation:
        """Run the handler on `event` in a free environment, starting one if needed."""
        request_id = request_id or str(uuid.uuid4())
        payload = json.dumps(event)
        if len(payload) > PAYLOAD_LIMIT_BYTES:
            return _failed(
                request_id, "RequestTooLargeException", "Request must be smaller than 6 MB"
            )
        started = time.monotonic()
        worker, init_error = self._acquire()
        if init_error is not None:
            return Invocation(request_id, ok=False, error=init_error)
        assert worker is not None
        deadline_ms = int(time.time() * 1000) + self.function.timeout * 1000
        reply = worker.call(
            {"requestId": request_id, "deadlineMs": deadline_ms, "event": event},
            self.function.timeout,
        )
        duration = (time.monotonic() - started) * 1000
        if reply is None:
            self._discard(worker)
            return self._lost(request_id, worker, duration)
        self._release(worker)
        if not reply["ok"]:
            return Invocation(request_id, ok=False, error=reply["error"], duration_ms=duration)
        return Invocation(request_id, ok=True, result=reply["result"], duration_ms=duration)

    def warm(self) -> None:
        """Start one environment ahead of the first invocation."""
        worker, init_error = self._acquire()
        if worker is not None and init_error is None:
            self._release(worker)

    def stop(self, deadline: float | None = None) -> None:
        """Kill every environment of this function, abandoning the invocations in flight;
        wait for their output until `deadline` (default: STOP_SECONDS from now)."""
        deadline = time.monotonic() + STOP_SECONDS if deadline is None else deadline
        with self._available:
            self._stopped = True
            idle, busy = self._idle, list(self._busy)
            self._idle, self._busy = [], set()
            self._available.notify_all()
        for worker in busy:
            worker.abandon()
        closing = [worker for worker in idle if worker.close()]
        for worker in closing:
            worker.reap(deadline)

    def _acquire(self) -> tuple[_Worker | None, dict[str, Any] | None]:
        with self._available:
            while not self._idle and len(self._busy) >= self._max_workers and not self._stopped:
                self._available.wait()
            if self._stopped:
                return None, {"errorType": "ServiceException", "errorMessage": "runtime stopped"}
            if self._idle:
                worker = self._idle.pop()
                self._busy.add(worker)
                return worker, None
            worker = _Worker(self.function, self._environment, self._logs)
            self._busy.add(worker)
        init_error = worker.initialise()
        if init_error is not None:
            self._discard(worker)  # Lambda retries the init on the next invocation
            return None, init_error
        return worker, None

    def _release(self, worker: _Worker) -> None:
        with self._available:
            kept = worker in self._busy
            if kept:
                self._busy.discard(worker)
                self._idle.append(worker)
            self._available.notify()
        if not kept:  # the pool stopped while it ran
            worker.kill()

    def _discard(self, worker: _Worker) -> None:
        with self._available:
            self._busy.discard(worker)
            self._available.notify()
        worker.kill()

    def _lost(self, request_id: str, worker: _Worker, duration_ms: float) -> Invocation:
        if self._stopped:
            message = f"RequestId: {request_id} Error: the local stack stopped meanwhile"
            return _failed(request_id, ABANDONED, message, duration_ms)
        if (
            worker.process.returncode not in (None, 0)
            and duration_ms < self.function.timeout * 1000
        ):
            message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {worker.process.returncode}"
            return _failed(request_id, "Runtime.ExitError", message, duration_ms)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        message = f"{stamp} {request_id} Task timed out after {self.function.timeout:.2f} seconds"
        return _failed(request_id, "Sandbox.Timedout", message, duration_ms)


def _failed(request_id: str, error_type: str, message: str, duration_ms: float = 0.0) -> Invocation:
    error = {"errorType": error_type, "errorMessage": message, "stackTrace": []}
    return Invocation(request_id, ok=False, error=error, duration_ms=duration_ms)


class LambdaRuntime:
    """Every function of a deployed stack, ready to invoke by logical id."""

    def __init__(
        self,
        stack: Stack,
        endpoint_url: str,
        *,
        max_workers: int = 4,
        log: IO[str] | None = None,
        harness_environment: dict[str, str] | None = None,
        credentials: dict[str, dict[str, str]] | None = None,
        calls_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """`harness_environment` is added to every worker's environment: the local
        stack's own variables (SMSGW_LOCAL_HOSTS, REQUESTS_CA_BUNDLE), which stand in for
        the network and trust store a Lambda function gets, not for its configuration.
        `credentials`: a function's role session (AWS_ACCESS_KEY_ID, ...), as Lambda gives
        its execution role's; a function without gets dummy ones. `calls_file`: where the
        workers append the AWS actions each function calls (`worker.py`)."""
        self.stack = stack
        self.endpoint_url = endpoint_url
        self.harness_environment = dict(harness_environment or {})
        self.credentials = dict(credentials or {})
        self.calls_file = calls_file
        self._logs = _LogPump(log or sys.stderr, threading.Lock())
        self._pools = {
            logical_id: FunctionPool(
                function, self.environment(logical_id), self._logs, max_workers
            )
            for logical_id, function in stack.template.functions.items()
        }

    def environment(self, logical_id: str) -> dict[str, str]:
        """The process environment of a function's workers, as Lambda would set it."""
        function = self.stack.template.functions[logical_id]
        name = self.stack.function_name(logical_id)
        stream_day = datetime.now(UTC).strftime("%Y/%m/%d")
        inherited = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        python_path = [str(function.code_dir), *(str(path) for path in function.layer_dirs)]
        return {
            **inherited,
            **self.stack.function_environment(logical_id),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **self.credentials.get(logical_id, DUMMY_ENVIRONMENT),
            "AWS_DEFAULT_REGION": self.stack.region,
            "AWS_REGION": self.stack.region,
            # The developer's ~/.aws must not leak into the functions.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{stream_day}/[$LATEST]{uuid.uuid4().hex}",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "LOCAL_LAMBDA_FUNCTION_ARN": self.stack.function_arn(logical_id),
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONUNBUFFERED": "1",
            # X-Ray has no daemon locally.
            "POWERTOOLS_TRACE_DISABLED": "1",
            "TZ": ":UTC",
            **({CALLS_VARIABLE: f"{logical_id}:{self.calls_file}"} if self.calls_file else {}),
            **self.harness_environment,
        }

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Invoke a function synchronously (RequestResponse)."""
        return self._pools[logical_id].invoke(event)

    def warm(self) -> None:
        """Start one environment per function, in parallel."""
        threads = [
            threading.Thread(target=pool.warm, name=f"warm-{name}", daemon=True)
            for name, pool in self._pools.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def stop(self) -> None:
        """Stop every worker process (the functions in parallel), abandoning the
        invocations in flight."""
        deadline = time.monotonic() + STOP_SECONDS
        threads = [
            threading.Thread(target=pool.stop, args=(deadline,), daemon=True)
            for pool in self._pools.values()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
