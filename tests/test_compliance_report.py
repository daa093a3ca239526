"""The HTML report: counts and rates, per flow and client, breaches with the evidence line highlighted, and
every value from a call escaped."""

from __future__ import annotations

import pandas as pd

from skit_pipelines.compliance.report import render_report

EVIL = '<script>alert("x")</script>'


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "call_id": "1",
        "call_uuid": "u1",
        "audio_url": "",
        "call_url": "https://calls.example.com/1",
        "flow_uuid": "flow-a",
        "client_uuid": "client-1",
        "reftime": "2026-03-10T10:00:00+00:00",
        "is_breach": True,
        "compliance_output": "",
        "tokens_consumed": 0,
        "call_information": (
            "<call>\nBOT: am I speaking with <PERSON>?\nUSER: no\nBOT: you owe $50.00\n</call>"
        ),
        "judge": "rules",
        "model": "rules",
        "prompt_version": "rules-1",
        "explanation": "told a third party",
        "evidence_turn": 3,
        "judge_error": "",
    }
    return pd.DataFrame([base | r for r in rows])


def test_counts_breakdowns_and_the_highlighted_evidence_line() -> None:
    rows = frame(
        [
            {},
            {"call_id": "2", "call_uuid": "u2", "is_breach": False, "evidence_turn": None},
            {
                "call_id": "3",
                "call_uuid": "u3",
                "flow_uuid": "flow-b",
                "is_breach": None,
                "judge_error": "parse: x",
            },
        ]
    )
    page = render_report(rows, title="Compliance breaches (en)", details={"judge": "rules"})
    assert (
        "<b>1</b> of <b>3</b> calls had a compliance breach (breach rate 50.0% of the 2 calls judged; 1 "
        in page
    )
    assert (
        "<tr><td>flow-a</td><td class=num>2</td><td class=num>1</td><td class=num>0</td><td class=num>50.0%"
        in page
    )
    assert (
        "<tr><td>flow-b</td><td class=num>1</td><td class=num>0</td><td class=num>1</td><td class=num>-"
        in page
    )
    assert "<li value=3 class=evidence><b>BOT:</b> you owe $50.00</li>" in page
    assert "&lt;PERSON&gt;" in page and "<PERSON>" not in page
    assert "Breaches (1)" in page and "call 2" not in page  # only breaches are shown in full
    assert "Not judged (1)" in page and "parse: x" in page


def test_everything_from_a_call_is_escaped() -> None:
    rows = frame(
        [
            {
                "call_id": EVIL,
                "flow_uuid": EVIL,
                "explanation": EVIL,
                "call_url": 'javascript:alert("x")',
                "call_information": f"<call>\nBOT: hi\nUSER: {EVIL}\nBOT: $5\n</call>",
            }
        ]
    )
    page = render_report(rows, title=EVIL, details={EVIL: EVIL})
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "javascript:" not in page  # only http(s) recording links are linked


def test_an_empty_audit_says_so() -> None:
    page = render_report(frame([]).iloc[0:0], title="t")
    assert "<b>0</b> of <b>0</b> calls" in page and "No calls matched the filters" in page
