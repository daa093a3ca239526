"""The Slack step every pipeline ends with, wired in one place.

Why a helper: each pipeline posts one step's ``message`` (with a download command as a code block) to the
channel and thread its caller named, cc'ing ``notify``. The step always runs and itself decides whether there
is anything to send (``skipped: no notify or channel given``), so the wiring is identical everywhere and
belongs in one function that pipelines call while kfp traces them.
"""

from typing import Any

from kfp import dsl

from skit_pipelines.components.slack_notification import slack_notification


def notify_in_slack(
    message: Any, code_block: Any, *, channel: Any, notify: Any, slack_thread: Any
) -> dsl.PipelineTask:
    """Add the ``slack-notification`` step for ``message`` (a step output or pipeline parameter)."""
    return slack_notification(
        message=message, code_block=code_block, channel=channel, cc=notify, thread_id=slack_thread
    ).set_caching_options(enable_caching=False)
