"""Publish compliance breaches: ``publish_compliance_breaches`` (spec 4.11, 8.1; issue 14)."""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.fetch_calls import fetch_calls
from skit_pipelines.components.identify_compliance_breaches_llm import identify_compliance_breaches_llm
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs

PublishComplianceBreachesOutput = NamedTuple(
    "PublishComplianceBreachesOutput",
    [
        ("calls_uri", str),
        ("csv_uri", str),
        ("report_uri", str),
        ("calls", int),
        ("breaches", int),
        ("judge_errors", int),
        ("tokens", int),
        ("judge_used", str),
    ],
)


@dsl.pipeline(name="publish-compliance-breaches")
@with_parameter_docs
def publish_compliance_breaches(
    lang: str,
    template_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    reported: bool = False,
    call_quantity: int = 1000,
    client_id: str = "",
    flow_ids: str = "",
    timezone: str = "",
    random_seed: int = -1,
    judge: str = "auto",
    prompt_file: str = "",
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> PublishComplianceBreachesOutput:
    """Audit sampled debt-collection calls for private debt information told to anyone but the verified
    debtor (PII redacted first), and publish a CSV, an HTML report, compliance_breaches rows and Slack."""
    fetched = fetch_calls(
        lang=lang,
        template_id=template_id,
        start_date=start_date,
        end_date=end_date,
        start_date_offset=start_date_offset,
        end_date_offset=end_date_offset,
        reported=reported,
        call_quantity=call_quantity,
        client_id=client_id,
        flow_ids=flow_ids,
        timezone=timezone,
        random_seed=random_seed,
        remove_empty_audios=False,
    ).set_caching_options(enable_caching=False)
    audited = identify_compliance_breaches_llm(
        calls_uri=fetched.outputs["calls_uri"],
        judge=judge,
        prompt_file=prompt_file,
        lang=lang,
        template_id=template_id,
    ).set_caching_options(enable_caching=False)
    notify_in_slack(
        audited.outputs["message"],
        audited.outputs["download_command"],
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return PublishComplianceBreachesOutput(
        calls_uri=fetched.outputs["calls_uri"],
        csv_uri=audited.outputs["csv_uri"],
        report_uri=audited.outputs["report_uri"],
        calls=audited.outputs["calls"],
        breaches=audited.outputs["breaches"],
        judge_errors=audited.outputs["judge_errors"],
        tokens=audited.outputs["tokens"],
        judge_used=audited.outputs["judge_used"],
    )
