"""Every error code is documented, and the documented HTTP status is the code's."""

import re
from pathlib import Path

from smsgw.errors import ErrorCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_every_error_code_is_documented_with_its_status_and_name():
    rows = {
        int(code): (int(status), name)
        for code, status, name in re.findall(
            r"^\| (\d{5}) \| (\d{3}) \| (\w+) \|", DOC.read_text(), re.M
        )
    }
    for code in ErrorCode:
        assert rows.get(code.number) == (code.http_status, code.name), code


def test_error_numbers_are_unique():
    numbers = [code.number for code in ErrorCode]
    assert len(numbers) == len(set(numbers))


def test_every_error_code_is_exercised_by_a_test():
    tests = Path(__file__).resolve().parents[1]
    corpus = "\n".join(
        p.read_text() for p in tests.rglob("test_*.py") if p.name != "test_error_catalogue.py"
    )
    missing = [code.name for code in ErrorCode if f"ErrorCode.{code.name}" not in corpus]
    assert missing == []
