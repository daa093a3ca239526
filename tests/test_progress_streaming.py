"""A step's output reaches the run's log while the step runs, and its progress lines become progress events;
the training loop reports every batch and epoch, and the training job prints them as progress lines.

No timing assertions: ``progress_pipeline``'s step waits, after each epoch's lines, for a file that the test
creates only once it has found those lines in ``run.log``; with block-buffered output the step would wait in
vain and finish as "timed out". The real training (tiny XLM-R, several epochs) is checked the same way: the
first epoch's report arrives before the model archive exists, i.e. while the step is still training.
``PYTHONUNBUFFERED`` is removed from the environment, as on a user's machine, so that only the runner's
own settings can make the output stream.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from skit_pipelines.config import get_settings
from skit_pipelines.jobs.train_model import train_job, train_request_from
from skit_pipelines.models.train import TrainConfig, train_intent_classifier
from skit_pipelines.progress_lines import PREFIX, TrainingProgress, format_progress_line, parse_progress_line
from skit_pipelines.runner.base import RunState, StepEvent, get_runner
from skit_pipelines.runner.local import LocalRunner
from tests.api_pipelines import progress_pipeline
from tests.model_fixtures import sentences, tagged_rows, tiny_xlmr, write_csv


@pytest.fixture(autouse=True)
def buffered_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)


@pytest.fixture(scope="module")
def xlmr_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr-progress") / "model")


def run_log(runs_dir: Path) -> str:
    (log,) = runs_dir.glob("*/run.log")
    return log.read_text(encoding="utf-8")


def test_step_output_is_in_the_run_log_while_the_step_runs(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "runs")
    release = tmp_path / "release"
    events: list[StepEvent] = []
    seen_in_log: list[int] = []

    def on_event(event: StepEvent) -> None:
        events.append(event)
        if event.progress is None:
            return
        epoch = event.progress.epoch
        log = run_log(runner.runs_dir)
        progress_lines = [line for line in log.splitlines() if line.strip().startswith(PREFIX)]
        # the step's log line (kfp's logging, on stdout) and its progress line are already on disk
        if f"progress-step: epoch {epoch} of 3" in log and len(progress_lines) == epoch:
            seen_in_log.append(epoch)
        Path(f"{release}.{epoch}").touch()  # let the step go on

    result = runner.run_pipeline(
        progress_pipeline,
        "progress_pipeline",
        {"release": str(release), "epochs": 3, "wait_seconds": 60.0},
        on_event=on_event,
    )

    assert result.state == RunState.SUCCEEDED, result.error
    assert result.outputs["Output"] == "released"  # every epoch was seen while the step waited
    assert seen_in_log == [1, 2, 3]
    assert [(e.state, e.progress.epoch if e.progress else None) for e in events] == [
        (RunState.RUNNING, None),
        (RunState.RUNNING, 1),
        (RunState.RUNNING, 2),
        (RunState.RUNNING, 3),
        (RunState.SUCCEEDED, None),
    ]
    last = events[3].progress
    assert last == TrainingProgress(
        "epoch", 3, 3, 10, 10, pytest.approx(1 / 3), 3.0, eta_s=0.0, validation_accuracy=1.0
    )
    record = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert record["progress"] == {"progress-step": last.as_dict()}


@pytest.mark.slow
def test_a_multi_epoch_training_streams_its_progress(tmp_path: Path, xlmr_dir: str) -> None:
    dataset = write_csv(tagged_rows(sentences("train")), tmp_path / "train.csv")  # 120 rows, 4 intents
    model_path = tmp_path / "models" / "model.tar.gz"
    events: list[StepEvent] = []
    archive_existed: list[bool] = []
    in_log: list[bool] = []

    def on_event(event: StepEvent) -> None:
        events.append(event)
        if event.progress is not None:
            archive_existed.append(model_path.exists())
            in_log.append(format_progress_line(event.progress) in run_log(get_settings().runs_dir))

    result = get_runner().run(
        "train_voicebot_intent_model_xlmr",
        {
            "dataset_path": dataset,
            "model_name": xlmr_dir,
            "num_train_epochs": 3,
            "batch_size": 32,
            "validation_split": 0.2,
            "model_path": str(model_path),
        },
        on_event=on_event,
    )

    assert result.state == RunState.SUCCEEDED, result.error
    assert model_path.is_file()
    reports = [e.progress for e in events if e.progress is not None]
    assert archive_existed and not any(archive_existed)  # every report came while the step was training
    assert all(in_log)  # ... and its line was in the run's log by then
    steps = {e.step for e in events if e.progress is not None}
    assert steps == {"train-intent-model-2"}  # the CPU copy of the step
    epochs = [p for p in reports if p.event == "epoch"]
    assert [p.epoch for p in epochs] == [1, 2, 3]
    assert all(p.epochs == 3 and p.batches == 3 for p in reports)  # 96 training rows in batches of 32
    assert all(p.validation_accuracy is not None and p.validation_loss is not None for p in epochs)
    for epoch in (1, 2, 3):  # each epoch's first and last batch are always reported, then the epoch
        of_epoch = [(p.event, p.batch) for p in reports if p.epoch == epoch]
        assert of_epoch[0] == ("batch", 1) and of_epoch[-2:] == [("batch", 3), ("epoch", 3)]
    assert epochs[-1].eta_s == 0.0
    final = [i for i, e in enumerate(events) if e.step == "train-intent-model-2" and e.state.is_final]
    assert final and all(i < final[0] for i, e in enumerate(events) if e.progress is not None)


def test_the_training_loop_reports_every_batch_and_every_epoch(xlmr_dir: str) -> None:
    frame = pd.DataFrame(tagged_rows(sentences("train")))  # 120 rows
    config = TrainConfig(model_name=xlmr_dir, num_train_epochs=2, batch_size=40, validation_split=0.25)
    reports: list[TrainingProgress] = []
    trained = train_intent_classifier(frame, config, on_progress=reports.append)

    assert [(p.event, p.epoch, p.batch) for p in reports] == [
        ("batch", 1, 1),
        ("batch", 1, 2),
        ("batch", 1, 3),  # 90 training rows in batches of 40
        ("epoch", 1, 3),
        ("batch", 2, 1),
        ("batch", 2, 2),
        ("batch", 2, 3),
        ("epoch", 2, 3),
    ]
    assert all(p.epochs == 2 and p.batches == 3 for p in reports)
    epochs = [p for p in reports if p.event == "epoch"]
    for report, stats in zip(epochs, trained.history, strict=True):  # the epoch report is the history's
        assert report.loss == stats.train_loss
        assert report.validation_loss == stats.validation_loss
        assert report.validation_accuracy == stats.validation_accuracy
        assert report.validation_macro_f1 == stats.validation_macro_f1
    assert all(p.validation_loss is None for p in reports if p.event == "batch")
    assert epochs[-1].eta_s == 0.0 and all(p.eta_s is not None and p.eta_s >= 0 for p in reports)
    elapsed = [p.elapsed_s for p in reports]
    assert elapsed == sorted(elapsed)


def test_the_training_job_prints_progress_lines_on_its_output(
    tmp_path: Path, xlmr_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_csv(tagged_rows(sentences("train")), tmp_path / "train.csv")
    request = train_request_from({"dataset_path": dataset, "model_name": xlmr_dir, "num_train_epochs": 2})
    result = train_job(request)

    reports = [parse_progress_line(line) for line in capsys.readouterr().out.splitlines()]
    printed = [(p.event, p.epoch, p.batch) for p in reports if p is not None]
    # 120 rows in batches of 16: 8 a epoch; the first and the last batch and the epoch always printed
    for epoch in (1, 2):
        of_epoch = [item for item in printed if item[1] == epoch]
        assert of_epoch[0] == ("batch", epoch, 1) and of_epoch[-2:] == [
            ("batch", epoch, 8),
            ("epoch", epoch, 8),
        ]
    assert [item for item in printed if item[0] == "epoch"] == [("epoch", 1, 8), ("epoch", 2, 8)]
    assert result.epochs_run == 2
