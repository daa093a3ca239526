"""A step that runs on a GPU when the pipeline's ``use_gpu`` says so, and on a CPU node otherwise.

Why a helper: kfp fixes a step's accelerator request when the pipeline is compiled, not from a parameter, so
such a step exists twice: a GPU-requesting copy under ``dsl.If(use_gpu)`` and a plain one under ``dsl.Else``,
whose outputs are joined with ``dsl.OneOf``. Training, prediction and SLU retraining all need exactly that.
"""

from collections.abc import Callable
from typing import Any

from kfp import dsl

GPU_RESOURCE = "nvidia.com/gpu"


def on_gpu_or_cpu(use_gpu: Any, step: Callable[[], dsl.PipelineTask]) -> Callable[[str], dsl.OneOf]:
    """Add ``step()`` twice (one copy requesting a GPU); return ``output(name)`` picking the copy that ran."""
    with dsl.If(use_gpu == True, name="gpu"):  # noqa: E712 - kfp builds the condition from ==
        on_gpu = step().set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(1)
    with dsl.Else(name="cpu"):
        on_cpu = step()

    def output(name: str) -> dsl.OneOf:
        return dsl.OneOf(on_gpu.outputs[name], on_cpu.outputs[name])

    return output
