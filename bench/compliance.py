"""(compliance) The compliance audit on the demo warehouse's ground truth: judge quality and throughput.

The demo warehouse's debt-collection audit flow labels each call (``demo_compliance`` in the turn context:
breach or not, and which of four cases). Measured in one run on one warehouse:

- **quality**: the ``rules`` judge's precision and recall of "breach", on the raw and on the redacted
  transcripts (the pipeline judges the redacted ones); with an LLM configured (``SKIT_LLM_MODEL``...), the
  ``llm`` judge's precision, recall and tokens per call on the redacted transcripts;
- **throughput**: fetch + transcripts + PII redaction in calls per second, against ``fetch_calls`` alone
  on the same calls (the judge excluded, as issue 14 asks); the spaCy model loads once, before the clock;
- **redaction** on the same text: calls in which one of the call's own names (debtor, agent: the ground
  truth's ``names``, any case) or the callback number is still readable after redaction, and calls whose
  amounts did not all survive it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.common import Measurement, timed
from skit_pipelines.compliance.ground_truth import calls_with_a_name_left, demo_labels, demo_names, score
from skit_pipelines.compliance.rules_judge import AMOUNT, RulesJudge
from skit_pipelines.compliance.transcripts import build_transcripts
from skit_pipelines.config import get_settings
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.warehouse.demo_data import AUDIT_MACHINE, CLIENTS, generate_demo_warehouse
from skit_pipelines.warehouse.fetch import fetch_calls
from skit_pipelines.warehouse.filters import build_call_filters

END_DATE = dt.date(2026, 3, 31)
DAYS = 7
_PHONE = re.compile(r"\b800\W{0,2}555\W?0166\b")


def _audit_client() -> str:
    return next(c.client_id for c in CLIENTS if any(f.machine == AUDIT_MACHINE for f in c.flows))


def _fetch(url: str) -> pd.DataFrame:
    filters = build_call_filters(
        lang="en",
        start_date=(END_DATE - dt.timedelta(days=DAYS)).isoformat(),
        end_date=(END_DATE + dt.timedelta(days=1)).isoformat(),
        timezone="UTC",
        client_id=_audit_client(),
    )
    result = fetch_calls(filters, call_quantity=1_000_000, random_seed=1, warehouse_url=url)
    return pd.read_csv(result.calls_uri, dtype=str, keep_default_na=False, na_values=[""])


def _redaction_leaks(
    uuids: list[str], raw: list[str], redacted: list[str], names: dict[str, tuple[str, ...]]
) -> dict[str, int]:
    """Names (each call's debtor and agent, from its ground truth, any case), the callback number and
    amounts, counted on the redacted text."""
    return {
        "calls_with_a_name_left": calls_with_a_name_left(uuids, redacted, names),
        "calls_with_the_phone_left": sum(bool(_PHONE.search(text)) for text in redacted),
        "calls_with_an_amount_lost": sum(
            len(AMOUNT.findall(before)) != len(AMOUNT.findall(after))
            for before, after in zip(raw, redacted, strict=True)
        ),
    }


def _llm_quality(
    endpoint: LLMEndpoint, uuids: list[str], redacted: list[str], labels: dict[str, Any]
) -> Measurement | None:
    """The LLM judge's quality and cost, when an LLM is configured (else None)."""
    if not endpoint.configured:
        return None
    # Imported here: the judge registry (and the openai client behind it) is only needed with an LLM.
    from skit_pipelines.compliance.judges import select_judge

    judge = select_judge("llm", endpoint)
    seconds, verdicts = timed(lambda: judge.judge(redacted))
    result = score(uuids, verdicts, labels)
    tokens = sum(v.tokens for v in verdicts)
    return Measurement(
        name=f"compliance: llm judge ({judge.model}), {len(redacted)} redacted calls",
        seconds=seconds,
        extra={**result.as_dict(), "tokens_per_call": round(tokens / max(len(verdicts), 1), 1)},
    )


def bench_compliance(calls: int = 5000) -> list[Measurement]:
    """Generate a ``calls``-call demo warehouse (about 9% of them audit calls) and measure on it."""
    endpoint = get_settings().llm()  # read before SKIT_HOME moves to the scratch folder
    saved = os.environ.get("SKIT_HOME")
    with tempfile.TemporaryDirectory(prefix="skit-bench-compliance-") as work:
        os.environ["SKIT_HOME"] = str(Path(work) / "home")  # fetch_calls' CSVs go there, not to .skit
        get_settings.cache_clear()
        try:
            return _measure(f"sqlite:///{Path(work) / 'warehouse.db'}", calls, endpoint)
        finally:
            if saved is None:
                os.environ.pop("SKIT_HOME", None)
            else:
                os.environ["SKIT_HOME"] = saved
            get_settings.cache_clear()


def _measure(url: str, calls: int, endpoint: LLMEndpoint) -> list[Measurement]:
    # Imported here: Presidio and spaCy (the compliance extra) are only needed by this benchmark.
    from skit_pipelines.compliance.redaction import PiiRedactor, redact_transcripts

    generate_demo_warehouse(url, calls=calls, seed=1, end_date=END_DATE, days=DAYS)
    started = time.perf_counter()
    redactor = PiiRedactor()  # the spaCy model loads once per process, before the clock
    load_seconds = time.perf_counter() - started

    fetch_seconds, turns = timed(lambda: _fetch(url), repeat=3)

    def pipeline() -> tuple[pd.DataFrame, list[str]]:
        transcripts = build_transcripts(_fetch(url))
        return transcripts, redact_transcripts(list(transcripts["call_information"]), redactor)

    pipeline_seconds, (transcripts, redacted) = timed(pipeline)
    raw = list(transcripts["call_information"])
    n = len(transcripts)
    results = [
        Measurement(
            name=f"compliance: fetch + transcripts + redaction, {n} calls ({len(turns)} turns)",
            seconds=pipeline_seconds,
            baseline="fetch_calls alone, same calls",
            baseline_seconds=fetch_seconds,
            extra={
                "calls_per_second": round(n / pipeline_seconds, 1),
                "fetch_calls_per_second": round(n / fetch_seconds, 1),
                "model_load_seconds": round(load_seconds, 2),
                **_redaction_leaks(list(transcripts["call_uuid"]), raw, redacted, demo_names(turns)),
            },
        )
    ]
    labels = demo_labels(turns)
    uuids = list(transcripts["call_uuid"])
    judge = RulesJudge()
    for which, texts in (("raw", raw), ("redacted", redacted)):
        seconds, verdicts = timed(lambda texts=texts: judge.judge(texts))
        result = score(uuids, verdicts, labels)
        cases = {case: f"{s.flagged}/{s.calls}" for case, s in result.by_case.items()}
        results.append(
            Measurement(
                name=f"compliance: rules judge, {n} {which} calls",
                seconds=seconds,
                extra={**result.as_dict(), "flagged_by_case": cases},
            )
        )
    if llm := _llm_quality(endpoint, uuids, redacted, labels):
        results.append(llm)
    return results
