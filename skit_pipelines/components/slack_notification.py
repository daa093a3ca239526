"""Component ``slack_notification``: post a message (and an optional code block or file) to Slack."""

from typing import NamedTuple

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
) -> NamedTuple("Outputs", [("sent", bool), ("message", str)]):
    """Never fails the pipeline; its ``message`` says what happened, so that a run does not show a
    notification as done when nothing was sent: ``sent to #ml``, ``skipped: no SKIT_SLACK_TOKEN ...``,
    ``skipped: no notify or channel given`` or ``failed: <why>`` (the progress view shows the last three
    as skipped or failed). ``channel`` alone notifies (without cc); neither ``notify`` (cc) nor ``channel``
    means the user asked for no notification.
    """
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    import logging

    from skit_pipelines.notify.slack import send_notification

    if not channel.strip() and not cc.strip():
        return (False, "skipped: no notify or channel given")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = send_notification(
        message,
        code_block=code_block,
        channel=channel,
        cc=cc,
        thread_id=thread_id,
        file_title=file_title,
        file_content=file_content,
        settings=settings,
    )
    print(f"Slack notification {result.status}")
    return (result.sent, result.status)
