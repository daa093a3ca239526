"""Component ``slack_notification``: post a message (and an optional code block or file) to Slack."""

from skit_pipelines.components import component


@component
def slack_notification(
    message: str,
    code_block: str = "",
    channel: str = "",
    cc: str = "",
    thread_id: str = "",
    file_title: str = "",
    file_content: str = "",
) -> bool:
    """Never fails the pipeline: without a token it logs; Slack errors are logged and returned as False."""
    import logging

    from skit_pipelines.notify.slack import send_notification

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = send_notification(
        message,
        code_block=code_block,
        channel=channel,
        cc=cc,
        thread_id=thread_id,
        file_title=file_title,
        file_content=file_content,
    )
    if result.error:
        print(f"Slack notification not sent: {result.error}")
    return result.sent
