"""With tracing off (the template's `Tracing: PassThrough`, its default) a function starts
without the X-Ray SDK; with it on, the Powertools Tracer traces the handler."""

import itertools
import os
import subprocess
import sys

import pytest
from aws_lambda_powertools.tracing.tracer import Tracer

from smsgw import observability
from tests.support import ROOT

SETTINGS = {
    "POWERTOOLS_TRACE_DISABLED": [None, "true", "1", "false", "0"],
    "LAMBDA_TASK_ROOT": [None, "/var/task"],
    "AWS_SAM_LOCAL": [None, "true"],
}


@pytest.mark.parametrize(
    "setting",
    [dict(zip(SETTINGS, values, strict=True)) for values in itertools.product(*SETTINGS.values())],
)
def test_tracing_is_off_exactly_when_powertools_would_disable_its_tracer(setting, monkeypatch):
    for name, value in setting.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert observability.tracing_disabled() == bool(Tracer._is_tracer_disabled())


def _cold_start(trace_disabled: str) -> str:
    """Import the sender's handler in a fresh interpreter, as Lambda would."""
    probe = (
        "import sys, app\n"
        "handler, layers = app.lambda_handler, []\n"
        "while hasattr(handler, '__wrapped__'):\n"
        "    layers.append(handler.__code__.co_qualname.split('.')[0])\n"
        "    handler = handler.__wrapped__\n"
        "print('aws_xray_sdk' in sys.modules, type(app.tracer).__name__, *layers)"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "functions" / "sender"), str(ROOT / "layers" / "common" / "python")]
        ),
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "sender"),
        "POWERTOOLS_TRACE_DISABLED": trace_disabled,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(  # noqa: S603 - our interpreter and a fixed probe
        [sys.executable, "-c", probe],
        cwd=ROOT / "functions" / "sender",
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_cold_start_with_tracing_off_loads_no_xray_sdk():
    # The handler is wrapped by the logger and the metrics only
    assert _cold_start("true") == "False _Untraced Logger BaseProvider"


def test_a_cold_start_with_tracing_on_traces_the_handler():
    assert _cold_start("false") == "True Tracer Logger Tracer BaseProvider"
