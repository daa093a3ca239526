"""Progress lines: the format a training step prints, its parser, and the throttled printer."""

import io
import json
import math

import pytest

from skit_pipelines.progress_lines import (
    PREFIX,
    ProgressLineError,
    ProgressPrinter,
    TrainingProgress,
    format_duration,
    format_progress_line,
    parse_progress_line,
)

STEP = TrainingProgress(
    event="batch", epoch=2, epochs=8, batch=120, batches=470, loss=0.43214, elapsed_s=301.25, eta_s=912.4
)
EPOCH = TrainingProgress(
    event="epoch",
    epoch=3,
    epochs=8,
    batch=470,
    batches=470,
    loss=0.2,
    elapsed_s=400.0,
    eta_s=650.0,
    validation_loss=0.31,
    validation_accuracy=0.9125,
    validation_macro_f1=0.9,
)


@pytest.mark.parametrize("progress", [STEP, EPOCH])
def test_a_line_reads_back_as_the_progress_it_reports(progress: TrainingProgress) -> None:
    line = format_progress_line(progress)
    assert line.startswith(PREFIX) and "\n" not in line
    assert parse_progress_line(line) == progress
    assert parse_progress_line("    " + line + "  \n") == progress  # kfp indents a step's output


def test_the_documented_example_parses() -> None:
    line = (
        'skit-progress {"event":"batch","epoch":2,"epochs":8,"batch":120,"batches":470,"loss":0.4321,'
        '"elapsed_s":301.2,"eta_s":912.0,"validation_loss":null,"future_field":"ignored"}'
    )
    progress = parse_progress_line(line)
    assert progress == TrainingProgress("batch", 2, 8, 120, 470, 0.4321, 301.2, eta_s=912.0)


def test_a_diverging_loss_is_written_as_null_and_read_as_nan() -> None:
    line = format_progress_line(TrainingProgress("batch", 1, 1, 1, 2, math.nan, 1.0, eta_s=math.inf))
    payload = json.loads(line.removeprefix(PREFIX))
    assert payload["loss"] is None and payload["eta_s"] is None
    progress = parse_progress_line(line)
    assert progress is not None and math.isnan(progress.loss) and progress.eta_s is None
    assert "loss n/a" in progress.describe()


@pytest.mark.parametrize(
    "line",
    ["", "epoch 1/3: train loss 0.5", "skit-progressive {}", "INFO skit-progress {}", "[KFP Executor]: x"],
)
def test_other_lines_are_not_progress(line: str) -> None:
    assert parse_progress_line(line) is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "not JSON after 'skit-progress'"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"event": "step"}', "event must be one of batch, epoch, got 'step'"),
        (
            '{"event": "batch", "epoch": 1, "epochs": 2, "batch": 1}',
            "batches must be a whole number >= 0, got None",
        ),
        (
            '{"event": "batch", "epoch": -1, "epochs": 2, "batch": 1, "batches": 2}',
            "epoch must be a whole number",
        ),
        (
            '{"event": "batch", "epoch": true, "epochs": 2, "batch": 1, "batches": 2}',
            "epoch must be a whole number",
        ),
        (
            '{"event": "batch", "epoch": 1, "epochs": 2, "batch": 1, "batches": 2, "elapsed_s": 1}',
            "loss must be a number, got None",
        ),
        (
            '{"event": "batch", "epoch": 1, "epochs": 2, "batch": 1, "batches": 2, "loss": "low",'
            ' "elapsed_s": 0}',
            "loss must be a number, got 'low'",
        ),
        (
            '{"event": "epoch", "epoch": 1, "epochs": 2, "batch": 1, "batches": 2, "loss": 1, "elapsed_s": 1,'
            ' "validation_accuracy": "high"}',
            "validation_accuracy must be a number, got 'high'",
        ),
    ],
)
def test_a_malformed_report_names_what_is_wrong(payload: str, message: str) -> None:
    with pytest.raises(ProgressLineError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_progress_line(PREFIX + payload)


def test_describe_is_one_human_line() -> None:
    assert STEP.describe() == "epoch 2/8, batch 120/470, loss 0.4321, ETA 15m12s"
    assert EPOCH.describe() == (
        "epoch 3/8, done, train loss 0.2000, validation loss 0.3100, accuracy 0.912, macro F1 0.900, "
        "ETA 10m50s"
    )
    assert format_duration(3723) == "1h02m03s" and format_duration(-4) == "0m00s"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_printer_prints_epoch_boundaries_always_and_batches_at_most_every_interval() -> None:
    stream, clock = io.StringIO(), FakeClock()
    printer = ProgressPrinter(stream, min_interval=2.0, clock=clock)

    def batch(step: int, at: float) -> None:
        clock.now = at
        printer(TrainingProgress("batch", 1, 2, step, 10, 1.0, at))

    batch(1, 0.0)  # first batch of the epoch: printed
    batch(2, 0.5)  # within the interval: not printed
    batch(3, 1.9)
    batch(4, 2.1)  # printed
    batch(5, 2.2)
    batch(10, 2.3)  # last batch of the epoch: printed
    clock.now = 2.4
    printer(TrainingProgress("epoch", 1, 2, 10, 10, 0.9, 2.4, validation_accuracy=0.5))
    lines = [parse_progress_line(line) for line in stream.getvalue().splitlines()]
    assert [(p.event, p.batch) for p in lines if p is not None] == [
        ("batch", 1),
        ("batch", 4),
        ("batch", 10),
        ("epoch", 10),
    ]
    assert len(lines) == 4
