"""Every metric goes through smsgw.observability.Metric: one list of names and units."""

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
