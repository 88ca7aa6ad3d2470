"""Every metric goes through smsgw.observability.Metric: one list of names and units."""

import os
import subprocess
import sys
from pathlib import Path

from smsgw.observability import Metric

ROOT = Path(__file__).resolve().parents[2]


def test_only_observability_adds_metrics():
    sources = [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/common/python/smsgw/**/*.py")]
    adding = [p.relative_to(ROOT) for p in sources if "add_metric(" in p.read_text()]
    assert adding == [Path("layers/common/python/smsgw/observability.py")]


def test_metric_names_are_unique_and_have_a_unit():
    names = [metric.metric_name for metric in Metric]
    assert len(set(names)) == len(names)
    assert all(metric.unit for metric in Metric)


def test_an_invocation_with_no_metrics_prints_nothing_about_it():
    # A handler decorated as the functions are, in a fresh interpreter that shows every
    # warning (as Lambda's runtime does), publishing no metric
    script = (
        "from types import SimpleNamespace\n"
        "from smsgw.observability import metrics\n"
        "@metrics.log_metrics\n"
        "def handler(event, context):\n"
        "    return 'ok'\n"
        "print(handler({}, SimpleNamespace()))\n"
    )
    env = os.environ | {"PYTHONPATH": str(ROOT / "layers/common/python")}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-W", "default", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout == "ok\n"
    assert "No application metrics" not in done.stderr
