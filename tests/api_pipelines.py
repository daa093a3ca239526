"""Pipelines that exist only for the API tests (registered in the apps the tests build, never in the product).

``sleep_pipeline`` keeps a worker busy for a known time (restart and concurrency tests); ``noop_pipeline``
returns at once; ``progress_pipeline`` reports training progress and waits for the test to release each
epoch (streamed output); ``read_pipeline`` reads a location in a step (read policy tests);
``echo_pipeline`` records what its step received (parameter values byte for byte). A worker process
imports them by ``module:attribute`` like any registered pipeline.
(No ``from __future__ import annotations``: kfp reads the real annotation objects.)
"""

from kfp import dsl

from skit_pipelines.components import component


@component
def sleep_step(seconds: float, journal: str) -> str:
    """Says it sleeps (a line the step's log must show), sleeps, then returns an artifact-like path so that
    the outputs carry a URI. With a ``journal`` path it appends ``start <time>`` and ``end <time>`` lines
    there (one small O_APPEND write each: lines of concurrent steps never mix)."""
    import time

    def note(event: str) -> None:
        if journal:
            with open(journal, "a", encoding="utf-8") as handle:
                handle.write(f"{event} {time.time():.6f}\n")

    note("start")
    print(f"sleep-step: sleeping {seconds}s", flush=True)
    time.sleep(seconds)
    note("end")
    return "/tmp/skit-test-artifact.csv"


@component
def fail_step(message: str) -> str:
    """Always fails with ``message``."""
    raise RuntimeError(message)


@component
def read_step(path: str) -> str:
    """Reads ``path`` through the artifact store (a location no pipeline declaration covers)."""
    from skit_pipelines import runtime, storage
    from skit_pipelines.config import get_settings

    runtime.configure(get_settings().runtime())  # a step is an entry point, as in the product's components
    return storage.read_text(path)[:10]


@component
def echo_step(text: str, out_path: str) -> str:
    """Writes the value it received and its own command line (what ``ps`` shows) to ``out_path``."""
    import json

    with open("/proc/self/cmdline", "rb") as handle:
        cmdline = handle.read().decode("utf-8", "replace").split("\0")
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"text": text, "cmdline": cmdline}, handle)
    return text


@component
def progress_step(release: str, epochs: int, wait_seconds: float) -> str:
    """Reports ``epochs`` epochs of progress the way a training step does (a log line through kfp's logging
    on stdout, a progress line printed without an explicit flush), and after each one waits until the file
    ``<release>.<epoch>`` exists: a test creates it only once it has seen that epoch's line in the run's log,
    so the step finishes as "released" only if its output was streamed while it ran. ``wait_seconds`` only
    keeps a broken stream from hanging the test (the step then returns which epoch it gave up on)."""
    import logging
    import os
    import time

    from skit_pipelines.progress_lines import TrainingProgress, format_progress_line

    for epoch in range(1, epochs + 1):
        logging.getLogger("progress-step").info("progress-step: epoch %d of %d", epoch, epochs)
        report = TrainingProgress(
            event="epoch",
            epoch=epoch,
            epochs=epochs,
            batch=10,
            batches=10,
            loss=1.0 / epoch,
            elapsed_s=float(epoch),
            eta_s=float(epochs - epoch),
            validation_accuracy=0.5 + epoch / (2 * epochs),
        )
        print(format_progress_line(report))  # no flush: the runner must not need one
        deadline = time.monotonic() + wait_seconds
        while not os.path.exists(f"{release}.{epoch}"):
            if time.monotonic() > deadline:
                return f"timed out waiting at epoch {epoch}"
            time.sleep(0.02)
    return "released"


@dsl.pipeline(name="sleep-pipeline")
def sleep_pipeline(seconds: float = 1.0, journal: str = "") -> str:
    """Sleep for a while (tests only).

    Args:
        seconds: How long the step sleeps.
        journal: A file the step appends its start and end times to (concurrency tests).
    """
    return sleep_step(seconds=seconds, journal=journal).set_caching_options(enable_caching=False).output


@dsl.pipeline(name="fail-pipeline")
def fail_pipeline(message: str = "boom") -> str:
    """Fail in its only step (tests only).

    Args:
        message: The error message.
    """
    return fail_step(message=message).set_caching_options(enable_caching=False).output


@dsl.pipeline(name="read-pipeline")
def read_pipeline(path: str = "") -> str:
    """Read a file in a step (tests only: the read policy holds inside the steps of API runs).

    Args:
        path: The location to read.
    """
    return read_step(path=path).set_caching_options(enable_caching=False).output


@dsl.pipeline(name="echo-pipeline")
def echo_pipeline(text: str = "", out_path: str = "") -> str:
    """Hand ``text`` to a step that writes it to ``out_path`` (tests only).

    Args:
        text: Any value.
        out_path: Where the step writes what it received (JSON).
    """
    return echo_step(text=text, out_path=out_path).set_caching_options(enable_caching=False).output


@dsl.pipeline(name="progress-pipeline")
def progress_pipeline(release: str = "", epochs: int = 2, wait_seconds: float = 60.0) -> str:
    """Report training progress, one epoch at a time, released by the test (tests only).

    Args:
        release: The path prefix of the files that release each epoch.
        epochs: How many epochs to report.
        wait_seconds: How long to wait for each release before giving up.
    """
    step = progress_step(release=release, epochs=epochs, wait_seconds=wait_seconds)
    return step.set_caching_options(enable_caching=False).output


TEST_PIPELINES = {
    "progress_pipeline": progress_pipeline,
    "sleep_pipeline": sleep_pipeline,
    "fail_pipeline": fail_pipeline,
    "read_pipeline": read_pipeline,
    "echo_pipeline": echo_pipeline,
}
