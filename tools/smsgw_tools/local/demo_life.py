"""The demo's line on a message's life (issue #18): a send with `SmartEncoding`, whose
curly quotes, dash and ellipsis would have made it two UCS-2 segments."""

from __future__ import annotations

SMART_TEXT = (
    "Hi Sam \u2014 your booking\u2019s confirmed for Tuesday at 10:00. "
    "Reply \u201cYES\u201d to keep it or \u201cNO\u201d to cancel\u2026"
)


def show_smart_encoding(url: str, auth: tuple[str, str], sms: dict[str, str]) -> None:
    """Send `SMART_TEXT` with SmartEncoding from `sms`'s From to its To; print one line:
    its encoding and segments as typed, and as the API answers (as it will be sent)."""
    import requests

    from smsgw.kernel.text import analyse
    from smsgw_tools.local.demo import DemoError

    typed = analyse(SMART_TEXT)
    body = {"From": sms["From"], "To": sms["To"], "Text": SMART_TEXT, "SmartEncoding": True}
    response = requests.post(url, json=body, auth=auth, timeout=30)
    if response.status_code != 200:
        raise DemoError(f"SmartEncoding POST answered {response.status_code}: {response.text}")
    sent = response.json()["Message"]
    print(
        f"\nSmartEncoding: as typed {typed.encoding}, {typed.segments} segments -> "
        f"sent {sent['Encoding']}, {sent['Segments']} segment: {sent['Text']}"
    )
