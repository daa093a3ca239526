"""The CLI run view of a training step: a progress bar per epoch (live) and plain lines (logs)."""

import io

from rich.console import Console

from skit_pipelines.progress_lines import TrainingProgress
from skit_pipelines.runner.base import RunState, StepEvent
from skit_pipelines.runner.progress import EPOCH_ROWS, RunProgressView

STEPS = ["train-intent-model", "slack-notification"]


def batch(epoch: int, step: int, loss: float, eta: float = 90.0) -> StepEvent:
    progress = TrainingProgress("batch", epoch, 3, step, 40, loss, 10.0 * epoch, eta_s=eta)
    return StepEvent("train-intent-model", RunState.RUNNING, progress=progress)


def epoch_end(epoch: int, accuracy: float) -> StepEvent:
    progress = TrainingProgress(
        "epoch", epoch, 3, 40, 40, 0.5 / epoch, 30.0 * epoch, eta_s=30.0 * (3 - epoch),
        validation_loss=0.4 / epoch, validation_accuracy=accuracy, validation_macro_f1=accuracy - 0.01,
    )  # fmt: skip
    return StepEvent("train-intent-model", RunState.RUNNING, progress=progress)


def rendered(view: RunProgressView) -> str:
    console = Console(file=io.StringIO(), width=140, color_system=None, record=True)
    console.print(view.render())
    return console.export_text()


def test_the_live_view_shows_a_bar_per_epoch_with_loss_validation_and_eta() -> None:
    view = RunProgressView("train_voicebot_intent_model_xlmr", STEPS, io.StringIO(), live=False)
    view.update(StepEvent("train-intent-model", RunState.RUNNING))
    view.update(batch(1, 10, 0.9))
    text = rendered(view)
    assert "epoch 1/3" in text and "10/40 loss 0.9000" in text and "ETA 1m30s" in text
    assert "━" in text  # rich's bar

    view.update(epoch_end(1, 0.812))
    view.update(batch(2, 20, 0.45, eta=45.0))
    lines = rendered(view).splitlines()
    (first,) = [line for line in lines if "epoch 1/3" in line]
    (second,) = [line for line in lines if "epoch 2/3" in line]
    assert "40/40 loss 0.5000 val loss 0.4000 val acc 0.812 val F1 0.802" in first and "ETA 1m00s" in first
    assert "20/40 loss 0.4500" in second and "val acc" not in second and "ETA 0m45s" in second
    step_row = next(i for i, line in enumerate(lines) if "train-intent-model" in line)
    assert lines.index(first) == step_row + 1 and lines.index(second) == step_row + 2  # under their step
    assert "▶ running" in lines[step_row]  # a progress report does not change the step's state


def test_the_live_view_keeps_the_latest_epochs_only() -> None:
    view = RunProgressView("p", STEPS, io.StringIO(), live=False)
    for epoch in range(1, EPOCH_ROWS + 3):
        view.update(epoch_end(epoch, 0.9))
    shown = [line for line in rendered(view).splitlines() if "epoch " in line]
    assert len(shown) == EPOCH_ROWS
    assert "epoch 3/3" in shown[0]  # (epochs past 3 of 3 only happen in this test)


def test_without_a_terminal_the_view_prints_progress_as_plain_lines() -> None:
    out = io.StringIO()
    view = RunProgressView("p", STEPS, out, live=False, plain_interval=3600)
    with view:
        view.update(StepEvent("train-intent-model", RunState.RUNNING))
        view.update(batch(1, 1, 1.2))  # the first batch of an epoch: printed
        view.update(batch(1, 5, 1.0))  # within the interval: not printed
        view.update(epoch_end(1, 0.75))  # every finished epoch: printed
        view.update(batch(2, 1, 0.6))
        view.update(StepEvent("train-intent-model", RunState.SUCCEEDED))
    lines = out.getvalue().splitlines()
    assert lines[0] == "Running p (2 steps)"
    assert lines[1].startswith("  ▶ train-intent-model: running")
    assert lines[2:5] == [
        "  ▶ train-intent-model: epoch 1/3, batch 1/40, loss 1.2000, ETA 1m30s",
        "  ▶ train-intent-model: epoch 1/3, done, train loss 0.5000, validation loss 0.4000, accuracy 0.750, "
        "macro F1 0.740, ETA 1m00s",
        "  ▶ train-intent-model: epoch 2/3, batch 1/40, loss 0.6000, ETA 1m30s",
    ]
    assert lines[5].startswith("  ✔ train-intent-model: succeeded")
    assert len(lines) == 6


def test_plain_lines_inside_an_epoch_follow_the_interval() -> None:
    out = io.StringIO()
    view = RunProgressView("p", STEPS, out, live=False, plain_interval=0)
    for step in (1, 2, 3):
        view.update(batch(1, step, 1.0))
    assert [line.split(", ")[1] for line in out.getvalue().splitlines()] == [
        "batch 1/40",
        "batch 2/40",
        "batch 3/40",
    ]
