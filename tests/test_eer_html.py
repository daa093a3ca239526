"""The HTML report: self-contained, with the chart embedded, every table, notes and escaped content."""

import base64
import json
import re

import pandas as pd

from skit_pipelines.metrics.entity.evaluation import evaluate_entity_frame
from skit_pipelines.metrics.entity.html import chart_png, render_entity_html


def dataset() -> pd.DataFrame:
    def ent(kind: str, value: object, start: int = 0, end: int = 4) -> dict[str, object]:
        return {"type": kind, "value": value, "text": "<b>t</b>", "start": start, "end": end}

    turns = [
        ([ent("date", "2026-03-12")], [ent("date", "2026-03-12")]),
        ([ent("number", 2)], [ent("people", 2)]),
        ([ent("product_kind", "<script>alert(1)</script>")], [ent("product_kind", "card")]),
    ]
    frame = pd.DataFrame(
        {
            "data_id": ["x1", "x2", "x3"],
            "truth_entities": [json.dumps(t) for t, _ in turns],
            "predicted_entities": [json.dumps(p) for _, p in turns],
        }
    )
    frame.loc[len(frame)] = ["x4", "{broken", "[]"]
    return frame


def test_chart_is_a_png() -> None:
    png = chart_png(evaluate_entity_frame(dataset()))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000


def test_report_is_self_contained_and_complete() -> None:
    evaluation = evaluate_entity_frame(dataset())
    page = render_entity_html(
        evaluation, title="Entities <acme>", info={"language": "en"}, source="tagged.csv"
    )
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and "<link" not in page and "<script" not in page
    assert not re.search(r"(src|href)=['\"]https?://", page)  # nothing fetched from the network
    image = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert image and base64.b64decode(image.group(1)).startswith(b"\x89PNG")
    assert "Entities &lt;acme&gt;" in page and "&lt;script&gt;" in page  # titles and cells are escaped
    for heading in (
        "First entity per turn (reference report)",
        "All entities",
        "Span scores, overall",
        "False positives (1)",
        "False negatives (1)",
        "Mismatches (1)",
        "What the numbers mean",
    ):
        assert heading in page
    assert "1 row(s) skipped: truth_entities: invalid JSON" in page  # skipped rows are shown, not hidden
    assert "tagged.csv" in page and "language: en" in page
    for column in ("FPR", "FNR", "Mismatch Rate", "Support", "Negatives", "entity_error_rate"):
        assert f"<th>{column}</th>" in page
