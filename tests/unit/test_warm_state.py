"""Everything a warm process keeps is forgotten at once (smsgw.warm), so no test can leak
a client or a setting into the next by a factory someone forgot to list."""

import ast
from pathlib import Path

import smsgw
from smsgw import warm

PRODUCT = Path(smsgw.__file__).parent
# Data that does not depend on the environment: kept for the process's life.
ENVIRONMENT_FREE = {
    "kernel/addresses.py": {"_alphanumeric_unsupported_regions"},
    "observability.py": {"_tracer", "_metrics"},
    "warm.py": set(),
}


def _cached_functions(tree: ast.AST) -> set[str]:
    """Functions decorated with functools' cache or lru_cache, however imported."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = ast.unparse(target)
                if name.rsplit(".", 1)[-1] in ("cache", "lru_cache"):
                    names.add(node.name)
    return names


def test_only_environment_free_data_uses_functools_cache_directly():
    found = {}
    for path in sorted(PRODUCT.rglob("*.py")):
        cached = _cached_functions(ast.parse(path.read_text()))
        if cached:
            found[path.relative_to(PRODUCT).as_posix()] = cached
    expected = {name: funcs for name, funcs in ENVIRONMENT_FREE.items() if funcs}
    assert found == expected, "use @smsgw.warm.warm for what a process builds from its setting"


def test_forget_clears_every_warm_factory(monkeypatch):
    from smsgw import config, services

    monkeypatch.setenv("TABLE_NAME", "first")
    warm.forget()
    try:
        assert services.send_limits() is services.send_limits()
        first = config.settings()

        monkeypatch.setenv("TABLE_NAME", "second")
        warm.forget()

        assert all(f.cache_info().currsize == 0 for f in warm._factories)
        assert config.settings() is not first
        assert config.settings().table_name == "second"
    finally:
        warm.forget()  # nothing of this test's environment outlives it
