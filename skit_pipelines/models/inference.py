"""Tokenising once and running a classifier over many texts in padded batches (shared by train and predict).

Why length-sorted batches: padding is wasted compute. Sorting texts by token count before batching makes
each batch pad only to its own longest text, which is several times faster on a CPU for short voicebot
turns mixed with a few long ones; results are put back in the original order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any


def autocast(device: str) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision (bfloat16 autocast) on a CUDA device that supports it; a no-op everywhere else.

    Why bfloat16 and no gradient scaler: it keeps float32's exponent range, so losses cannot underflow and
    the training step stays the plain one; float16 would need a GradScaler around every optimiser step.
    GPUs without bfloat16 (before Ampere) and the CPU run in float32, exactly as before.
    """
    if not str(device).startswith("cuda"):
        return contextlib.nullcontext()
    import torch

    if not torch.cuda.is_bf16_supported():
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16)


def encode(tokenizer: Any, texts: Sequence[str], max_seq_length: int) -> list[list[int]]:
    """Token ids of every text, truncated to ``max_seq_length`` (special tokens included), unpadded."""
    if max_seq_length < 8:
        raise ValueError(f"max_seq_length must be at least 8 tokens, got {max_seq_length}")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_seq_length, padding=False)
    return [list(ids) for ids in encoded["input_ids"]]


def collate(tokenizer: Any, rows: Sequence[list[int]], device: str) -> dict[str, Any]:
    """A padded batch (input_ids + attention_mask) on ``device``."""
    batch = tokenizer.pad({"input_ids": list(rows)}, padding=True, pad_to_multiple_of=8, return_tensors="pt")
    return {key: value.to(device) for key, value in batch.items() if key in ("input_ids", "attention_mask")}


def sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Row positions grouped into batches of similar length (longest first, so memory peaks early)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def length_grouped_batches(lengths: Sequence[int], batch_size: int, generator: Any) -> list[list[int]]:
    """Shuffled training batches whose rows have similar lengths (``group_by_length`` of HF Trainer).

    Rows are shuffled, cut into mega-batches of 50 batches, each mega-batch is sorted by length and cut
    into batches, and the batch order is shuffled again: every epoch sees a new random grouping, but a
    batch rarely pads a short turn to the length of a long one (about 1.5-2x faster on a CPU).
    """
    import torch

    order = torch.randperm(len(lengths), generator=generator).tolist()
    mega = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def predict_logits(
    model: Any, tokenizer: Any, encoded: Sequence[list[int]], batch_size: int, device: str
) -> Any:
    """Logits (numpy, rows in input order) of ``model`` over already encoded texts."""
    import numpy as np
    import torch

    num_labels = int(model.config.num_labels)
    logits = np.zeros((len(encoded), num_labels), dtype=np.float32)
    model.eval()
    with torch.inference_mode(), autocast(device):
        for positions in sorted_batches([len(ids) for ids in encoded], batch_size):
            batch = collate(tokenizer, [encoded[i] for i in positions], device)
            logits[positions] = model(**batch).logits.float().cpu().numpy()
    return logits


def predict_probabilities(
    model: Any, tokenizer: Any, encoded: Sequence[list[int]], batch_size: int, device: str
) -> Any:
    """Class probabilities (softmax of :func:`predict_logits`), rows in input order; shared by prediction
    and by training's scoring of validation rows, so both read confidences the same way."""
    import torch

    logits = predict_logits(model, tokenizer, encoded, batch_size, device)
    return torch.softmax(torch.from_numpy(logits), dim=1).numpy() if len(logits) else logits
