"""No module of the product or its tools grows past 400 lines (docs/architecture.md): a
module that does split along its jobs before it gets there."""

from pathlib import Path

ROOT = Path(__file__).parents[2]
MAX_LINES = 400


def test_no_module_is_over_400_lines():
    sources = [
        path
        for folder in ("layers", "functions", "tools")
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    ]
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sources
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert len(sources) > 100
    assert too_long == {}
