"""The process of one local step: kfp's executor, fed from a private folder instead of the command line.

Started by ``runner/kfp_subprocess.py`` as ``python -m skit_pipelines.runner.kfp_step_main <folder>
<function>``; the folder holds ``ephemeral_component.py`` and ``executor_input.json``. Only our own process
sees the executor input in ``sys.argv`` (rewriting ``sys.argv`` does not change what ``ps`` shows).

The step's stdout is a pipe, which Python buffers in blocks of 8 KiB; kfp's executor points its logging at
stdout, so a training step's log lines and progress lines sat in that buffer for many minutes. Output is
made line-buffered here (and ``PYTHONUNBUFFERED`` is set by the runner for anything the step starts), so
the runner's log and progress view get every line as it is written.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(folder: str, function: str) -> None:
    from kfp.dsl import executor_main

    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    executor_input = Path(folder, "executor_input.json").read_text(encoding="utf-8")
    sys.argv = [
        "kfp.dsl.executor_main",
        "--component_module_path",
        str(Path(folder, "ephemeral_component.py")),
        "--executor_input",
        executor_input,
        "--function_to_execute",
        function,
    ]
    executor_main.executor_main()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
