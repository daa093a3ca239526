"""Component ``identify_compliance_breaches_llm``: audit sampled calls and publish the result (issue 14).

The reference's component name (spec 8.1). It also does what the reference's separate
``push_compliance_report_to_postgres`` step did: the verdicts are in memory here, so the CSV, the HTML report
and the ``compliance_breaches`` rows are written in the same step instead of re-reading the CSV in another
one. The LLM endpoint (``SKIT_LLM_*``) and the metrics database (``SKIT_DATABASE_URL``) are read here and
passed down.
"""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def identify_compliance_breaches_llm(
    calls_uri: str,
    judge: str = "auto",
    prompt_file: str = "",
    lang: str = "",
    template_id: str = "",
) -> NamedTuple(
    "ComplianceBreachesOutput",
    [
        ("csv_uri", str),
        ("report_uri", str),
        ("calls", int),
        ("breaches", int),
        ("judge_errors", int),
        ("tokens", int),
        ("judge_used", str),
        ("message", str),
        ("download_command", str),
    ],
):
    """Redact, judge (``auto``/``llm``/``rules``) and publish the calls of a turns CSV."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("publish_compliance_breaches", locals())

    import logging

    from skit_pipelines.jobs.compliance import audit_compliance, compliance_request_from

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    request = compliance_request_from(calls_uri, judge, prompt_file, lang=lang, template_id=template_id)
    result = audit_compliance(request, endpoint=settings.llm(), database_url=settings.effective_database_url)
    print(result.message)
    return (
        result.csv_uri,
        result.report_uri,
        result.calls,
        result.breaches,
        result.judge_errors,
        result.tokens,
        result.judge,
        result.message,
        result.download_command,
    )
