"""Fine-tune any transformers checkpoint as an intent classifier (spec 6.2, with spec 14 item 17 fixed).

Why a plain PyTorch loop and not ``Trainer``: the loop is a few short, named steps, logs exactly what a
pipeline user needs (loss per epoch, validation metrics, an ETA), and has no hidden behaviour such as an
implicit evaluation split, checkpoint folders or the ``accelerate`` dependency ``Trainer`` pulls in.
Optimiser and schedule follow what the reference got from simpletransformers: AdamW, linear decay after a
6 % warm-up, gradient norm clipped at 1.

The whole dataset is training data by default: nothing is silently held out (the reference README's
warning). Validation exists only when asked for, with ``validation_split`` (a seeded, stratified share of
the dataset) or a separate validation frame; then every epoch is scored on it, the best epoch by
validation loss is the model that is kept, and ``use_early_stopping`` stops after ``early_stopping_patience``
epochs without an improvement larger than ``early_stopping_delta``. Early stopping without validation
data is an error, because it could only ever be meaningless.

The steps of :func:`train_intent_classifier`, one function each: load data (:func:`load_examples`) ->
encode labels and texts (:func:`label_set`, :func:`encode_examples`) -> build the model
(:func:`build_model`, :func:`build_optimizer`) -> train with progress lines (:func:`training_loop`,
:func:`train_epoch`) -> evaluate each epoch (:func:`evaluate_epoch`, :class:`BestEpoch`) -> keep the best
weights -> score every validation row with them (:func:`score_validation`: what a recommended confidence
threshold is chosen on). Mixed precision (bfloat16 autocast) is used on a CUDA GPU only. Saving the
archive is :mod:`skit_pipelines.models.archive`'s, called by the job.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.features import FeatureError, Separators, build_model_texts, true_labels
from skit_pipelines.models.checkpoint import (
    Checkpoint,
    load_classifier,
    load_tokenizer,
    pick_device,
    require_ml_extra,
)
from skit_pipelines.models.inference import (
    autocast,
    collate,
    encode,
    length_grouped_batches,
    predict_logits,
    predict_probabilities,
)
from skit_pipelines.progress_lines import ProgressCallback, TrainingProgress, format_duration

log = logging.getLogger(__name__)


class TrainingDataError(SkitPipelinesError, ValueError):
    """The dataset cannot train a classifier (no labels, one class, no text); the message says why."""


@dataclass
class TrainConfig:
    """Training parameters; names and defaults follow the reference pipeline (spec 4.5)."""

    model_name: str = "xlm-roberta-base"
    num_train_epochs: int = 10
    learning_rate: float = 4e-5
    max_seq_length: int = 128
    batch_size: int = 16
    seed: int = 42
    use_state: bool = False
    use_early_stopping: bool = False
    early_stopping_patience: int = 3
    early_stopping_delta: float = 0.0
    validation_split: float = 0.0
    label_column: str = "intent_y"
    warmup_ratio: float = 0.06
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    freeze_embeddings: bool = False
    device: str = "auto"
    fallback_intent: str = "_oos_"

    def validate(self, has_validation_frame: bool = False) -> None:
        """Raise ValueError naming the first parameter that is out of range."""
        checks = [
            (self.num_train_epochs >= 1, "num_train_epochs", "at least 1"),
            (self.learning_rate > 0, "learning_rate", "greater than 0"),
            (self.max_seq_length >= 8, "max_seq_length", "at least 8"),
            (self.batch_size >= 1, "batch_size", "at least 1"),
            (0 <= self.validation_split < 1, "validation_split", "in [0, 1)"),
            (self.early_stopping_patience >= 1, "early_stopping_patience", "at least 1"),
            (self.early_stopping_delta >= 0, "early_stopping_delta", "0 or more"),
            (0 <= self.warmup_ratio < 1, "warmup_ratio", "in [0, 1)"),
        ]
        checks.append((bool(str(self.fallback_intent).strip()), "fallback_intent", "a non-empty intent name"))
        for ok, name, expected in checks:
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")
        if self.validation_split > 0 and has_validation_frame:
            raise ValueError("give either validation_split or validation_dataset_path, not both")
        if self.use_early_stopping and not (self.validation_split > 0 or has_validation_frame):
            raise ValueError(
                "use_early_stopping needs validation data: set validation_split (e.g. 0.1) or "
                "validation_dataset_path; without it the whole dataset trains for num_train_epochs"
            )


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    seconds: float
    validation_loss: float | None = None
    validation_accuracy: float | None = None
    validation_macro_f1: float | None = None


@dataclass
class Examples:
    """Texts and label ids ready to train on, and what was left out of the input and why."""

    texts: list[str]
    labels: list[str]
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)
    text_column: str = ""


@dataclass
class ValidationOutputs:
    """Every validation row scored by the kept model: its truth, the model's best label and its confidence.

    Why all rows, including those whose label the model never saw: they are the out-of-scope examples a
    recommended confidence threshold is chosen on (:mod:`skit_pipelines.metrics.intent.oos`).
    """

    truth: list[str]
    predicted: list[str]
    confidence: list[float]


@dataclass
class TrainedModel:
    """A fine-tuned checkpoint and everything the archive's metadata records about how it was made."""

    checkpoint: Checkpoint
    labels: list[str]
    separators: Separators
    config: TrainConfig
    history: list[EpochStats]
    best_epoch: int | None
    stopped_early: bool
    device: str
    train_rows: int
    validation_rows: int
    skipped: dict[str, int]
    label_counts: dict[str, int]
    seconds: float
    validation_outputs: ValidationOutputs | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "model_name": self.config.model_name,
            "architecture": type(self.checkpoint.model).__name__,
            "model_type": getattr(self.checkpoint.model.config, "model_type", ""),
            "labels": len(self.labels),
            "label_counts": self.label_counts,
            "parameters": asdict(self.config),
            "separators": {"start": self.separators.start, "end": self.separators.end},
            "use_state": self.config.use_state,
            "fallback_intent": self.config.fallback_intent,
            "train_rows": self.train_rows,
            "validation_rows": self.validation_rows,
            "skipped_rows": self.skipped,
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "history": [asdict(stats) for stats in self.history],
            "device": self.device,
            "training_seconds": round(self.seconds, 2),
        }


def prepare_examples(
    frame: pd.DataFrame, separators: Separators, *, use_state: bool, label_column: str, what: str = "dataset"
) -> Examples:
    """Model texts and labels of ``frame``; rows without ASR text or without a label are counted and left out.

    Raises TrainingDataError when nothing usable remains (every text empty, every label missing).
    """
    if frame.empty:
        raise TrainingDataError(f"{what} has no rows")
    try:
        labels = true_labels(frame, label_column)
        texts = build_model_texts(frame, separators, use_state=use_state)
    except FeatureError as exc:
        raise TrainingDataError(f"{what}: {exc}") from exc
    empty = set(texts.empty_rows)
    unlabelled = {i for i, label in enumerate(labels) if label is None}
    if len(empty) == len(frame):
        raise TrainingDataError(
            f"{what}: every one of the {len(frame)} rows has an empty {texts.source_column!r} column "
            "(no ASR transcript): nothing to train on"
        )
    if len(unlabelled) == len(frame):
        raise TrainingDataError(f"{what}: label column {label_column!r} is empty in all {len(frame)} rows")
    keep = [i for i in range(len(frame)) if i not in empty and i not in unlabelled]
    skipped = {"empty_text": len(empty), "missing_label": len(unlabelled - empty)}
    for reason, count in skipped.items():
        if count:
            log.warning("%s: %d of %d rows left out (%s)", what, count, len(frame), reason.replace("_", " "))
    return Examples(
        texts=[texts.texts[i] for i in keep],
        labels=[str(labels[i]) for i in keep],
        rows=len(frame),
        skipped=skipped,
        text_column=texts.source_column,
    )


def split_validation(examples: Examples, share: float, seed: int) -> tuple[Examples, Examples]:
    """A seeded hold-out of ``share`` of the rows, stratified by label when every label has 2+ rows."""
    from sklearn.model_selection import train_test_split

    counts = Counter(examples.labels)
    n_val = math.ceil(len(examples.labels) * share)
    if n_val >= len(examples.labels):
        raise TrainingDataError(
            f"validation_split={share} of {len(examples.labels)} usable rows leaves no training rows"
        )
    stratify = examples.labels if min(counts.values()) >= 2 and n_val >= len(counts) else None
    if stratify is None:
        log.warning(
            "validation split is not stratified: some labels have fewer than 2 rows or there are "
            "more labels than validation rows"
        )
    positions = list(range(len(examples.labels)))
    train_pos, val_pos = train_test_split(positions, test_size=n_val, random_state=seed, stratify=stratify)

    def subset(pos: list[int]) -> Examples:
        return Examples(
            [examples.texts[i] for i in pos],
            [examples.labels[i] for i in pos],
            len(pos),
            text_column=examples.text_column,
        )

    return subset(sorted(train_pos)), subset(sorted(val_pos))


def _validation_scores(
    model: Any, tokenizer: Any, encoded: list[list[int]], label_ids: list[int], batch_size: int, device: str
) -> tuple[float, float, float]:
    import numpy as np
    import torch
    from sklearn.metrics import f1_score

    logits = predict_logits(model, tokenizer, encoded, batch_size, device)
    targets = np.asarray(label_ids)
    loss = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets)))
    predicted = logits.argmax(axis=1)
    accuracy = float((predicted == targets).mean())
    macro_f1 = float(f1_score(targets, predicted, average="macro", zero_division=0))
    return loss, accuracy, macro_f1


@dataclass
class EncodedData:
    """Token ids and label ids of the training rows and of the scorable validation rows."""

    train_ids: list[list[int]]
    train_targets: list[int]
    val_ids: list[list[int]] = field(default_factory=list)
    val_targets: list[int] = field(default_factory=list)

    @property
    def train_lengths(self) -> list[int]:
        return [len(ids) for ids in self.train_ids]


@dataclass
class LoopResult:
    """What the training loop leaves behind besides the model's weights."""

    history: list[EpochStats]
    best_epoch: int | None
    best_loss: float
    best_state: dict[str, Any] | None
    stopped_early: bool


@dataclass
class BestEpoch:
    """Tracks the epoch of lowest validation loss (its weights, on the CPU) and epochs since an improvement.

    Why a copy of the weights: the model that is kept is the best epoch's, not the last one's, and a copy
    in memory is cheaper than a checkpoint folder per epoch.
    """

    delta: float
    loss: float = math.inf
    epoch: int | None = None
    state: dict[str, Any] | None = None
    bad_epochs: int = 0

    def update(self, loss: float, epoch: int, model: Any) -> None:
        if loss < self.loss - self.delta:
            self.loss, self.epoch, self.bad_epochs = loss, epoch, 0
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1


def check_label_column(frame: pd.DataFrame, label_column: str) -> None:
    """Fail before any model is loaded when the dataset has no way to give a label."""
    if label_column not in frame.columns and "tag" not in frame.columns:
        raise TrainingDataError(
            f"dataset has no label column {label_column!r} (nor a 'tag' column to derive it from); "
            f"columns: {', '.join(map(str, frame.columns[:20]))}"
        )


def load_examples(
    frame: pd.DataFrame,
    config: TrainConfig,
    separators: Separators,
    validation_frame: pd.DataFrame | None,
) -> tuple[Examples, Examples | None, dict[str, int]]:
    """Step 1, load data: training examples, validation examples (split off or from their own frame) and
    the counts of rows left out, by reason (validation reasons prefixed ``validation_``)."""
    examples = prepare_examples(
        frame, separators, use_state=config.use_state, label_column=config.label_column
    )
    skipped = dict(examples.skipped)
    validation: Examples | None = None
    if config.validation_split > 0:
        examples, validation = split_validation(examples, config.validation_split, config.seed)
    elif validation_frame is not None:
        validation = prepare_examples(
            validation_frame,
            separators,
            use_state=config.use_state,
            label_column=config.label_column,
            what="validation dataset",
        )
        skipped.update({f"validation_{reason}": n for reason, n in validation.skipped.items() if n})
    return examples, validation, skipped


def label_set(examples: Examples, label_column: str) -> tuple[list[str], dict[str, int]]:
    """Step 2, encode labels: the sorted label set of the training rows and each label's row count.

    An intent classifier needs two classes at least; one class is a data problem, said in words.
    """
    label_counts = dict(sorted(Counter(examples.labels).items()))
    if len(label_counts) < 2:
        only = next(iter(label_counts), None)
        raise TrainingDataError(
            f"label column {label_column!r} has a single class ({only!r}) in {len(examples.labels)} "
            "training rows: an intent classifier needs at least 2 classes"
        )
    return sorted(label_counts), label_counts


def encode_examples(
    tokenizer: Any,
    examples: Examples,
    validation: Examples | None,
    labels: list[str],
    max_seq_length: int,
    skipped: dict[str, int],
) -> EncodedData:
    """Step 2, encode texts and labels: token ids and label ids.

    Validation rows whose label never occurs in training cannot be scored by a classifier that lacks that
    class: they are left out and counted in ``skipped`` (``validation_unseen_label``).
    """
    label_index = {label: i for i, label in enumerate(labels)}
    data = EncodedData(
        train_ids=encode(tokenizer, examples.texts, max_seq_length),
        train_targets=[label_index[label] for label in examples.labels],
    )
    if validation is not None:
        known = [i for i, label in enumerate(validation.labels) if label in label_index]
        unseen = len(validation.labels) - len(known)
        if unseen:
            log.warning("validation: %d rows have labels never seen in training; left out", unseen)
            skipped["validation_unseen_label"] = unseen
        if not known:
            raise TrainingDataError("validation data has no row whose label occurs in the training data")
        data.val_ids = encode(tokenizer, [validation.texts[i] for i in known], max_seq_length)
        data.val_targets = [label_index[validation.labels[i]] for i in known]
    return data


def build_model(config: TrainConfig, labels: list[str], device: str) -> Any:
    """Step 3, build the model: the checkpoint with a new classification head of ``labels``, on ``device``."""
    from transformers import set_seed

    set_seed(config.seed)  # the new head's initial weights depend on the seed only
    model = load_classifier(config.model_name, labels=labels).to(device)
    if config.freeze_embeddings:
        # The token embedding matrix is most of a small encoder's parameters (XLM-R base: 192M of 278M);
        # keeping it fixed makes each CPU step much cheaper and barely moves intent accuracy.
        model.get_input_embeddings().weight.requires_grad_(False)
    return model


def build_optimizer(model: Any, config: TrainConfig, total_steps: int) -> tuple[Any, Any, list[Any]]:
    """AdamW without weight decay on biases and norms, and a linear schedule after a warm-up.

    Returns the optimiser, the scheduler and the trainable parameters (whose gradient norm is clipped).
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if not any(k in n for k in ("bias", "LayerNorm", "norm"))]
    no_decay = [p for n, p in named if any(k in n for k in ("bias", "LayerNorm", "norm"))]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate,
        eps=1e-8,
    )
    warmup = int(config.warmup_ratio * total_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    return optimizer, scheduler, [p for _, p in named]


@dataclass
class LoopClock:
    """When the training loop started and its step counts: the ETA of every progress line."""

    epochs: int
    steps_per_epoch: int
    started: float
    on_progress: ProgressCallback | None = None

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def eta(self, now: float, epoch: int, step: int) -> float:
        """Seconds left for the whole training after ``step`` batches of ``epoch``, at the pace so far."""
        done = (epoch - 1) * self.steps_per_epoch + step
        return (now - self.started) / max(done, 1) * (self.total_steps - done)

    def report(self, event: str, epoch: int, step: int, loss: float, **scores: float | None) -> None:
        """Hand a :class:`TrainingProgress` to the callback (the step prints it as a progress line)."""
        if self.on_progress is None:
            return
        now = time.perf_counter()
        self.on_progress(
            TrainingProgress(
                event=event,
                epoch=epoch,
                epochs=self.epochs,
                batch=step,
                batches=self.steps_per_epoch,
                loss=loss,
                elapsed_s=now - self.started,
                eta_s=self.eta(now, epoch, step),
                **scores,
            )
        )


def train_epoch(
    model: Any,
    tokenizer: Any,
    data: EncodedData,
    optimisation: tuple[Any, Any, list[Any]],
    generator: Any,
    config: TrainConfig,
    device: str,
    *,
    epoch: int,
    clock: LoopClock,
) -> EpochStats:
    """One pass over the training rows in length-grouped batches: a progress report after every batch (the
    callback throttles), a log line every 30 s.

    ``optimisation`` is what :func:`build_optimizer` returns: optimiser, scheduler, trainable parameters.
    """
    import torch

    optimizer, scheduler, trainable = optimisation

    model.train()
    epoch_started = last_report = time.perf_counter()
    batches = length_grouped_batches(data.train_lengths, config.batch_size, generator)
    total_loss = 0.0
    seen = 0
    for step, positions in enumerate(batches, start=1):
        batch = collate(tokenizer, [data.train_ids[i] for i in positions], device)
        targets = torch.tensor([data.train_targets[i] for i in positions], device=device)
        with autocast(device):  # bfloat16 on a CUDA GPU, float32 on the CPU
            loss = model(**batch, labels=targets).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        total_loss += float(loss.detach()) * len(positions)
        seen += len(positions)
        clock.report("batch", epoch, step, total_loss / seen)
        now = time.perf_counter()
        if now - last_report > 30 and step < clock.steps_per_epoch:
            last_report = now
            eta = clock.eta(now, epoch, step)
            log.info(
                "epoch %d/%d: batch %d/%d, loss %.4f, ETA %s",
                epoch,
                config.num_train_epochs,
                step,
                clock.steps_per_epoch,
                total_loss / seen,
                format_duration(eta),
            )
    return EpochStats(
        epoch=epoch,
        train_loss=round(total_loss / seen, 6),
        seconds=round(time.perf_counter() - epoch_started, 2),
    )


def evaluate_epoch(
    model: Any, tokenizer: Any, data: EncodedData, config: TrainConfig, device: str, stats: EpochStats
) -> float:
    """Step 5, evaluate: score the validation rows into ``stats``; returns the validation loss."""
    loss, accuracy, macro_f1 = _validation_scores(
        model, tokenizer, data.val_ids, data.val_targets, config.batch_size, device
    )
    stats.validation_loss, stats.validation_accuracy = round(loss, 6), round(accuracy, 6)
    stats.validation_macro_f1 = round(macro_f1, 6)
    return loss


def _log_epoch(stats: EpochStats, config: TrainConfig, clock: LoopClock) -> None:
    """The progress line of an epoch: train loss, validation scores, duration, ETA of the run."""
    remaining = (time.perf_counter() - clock.started) / stats.epoch * (config.num_train_epochs - stats.epoch)
    scores = ""
    if stats.validation_loss is not None:
        scores = (
            f", validation loss {stats.validation_loss:.4f}, "
            f"accuracy {stats.validation_accuracy:.3f}, macro F1 {stats.validation_macro_f1:.3f}"
        )
    log.info(
        "epoch %d/%d: train loss %.4f%s (%.1f s; ETA %s)",
        stats.epoch,
        config.num_train_epochs,
        stats.train_loss,
        scores,
        stats.seconds,
        format_duration(remaining),
    )


def training_loop(
    model: Any,
    tokenizer: Any,
    data: EncodedData,
    config: TrainConfig,
    device: str,
    labels: list[str],
    on_progress: ProgressCallback | None = None,
) -> LoopResult:
    """Step 4, train: epochs of AdamW steps, each scored on the validation rows when there are any, with
    early stopping; a log line per epoch (and every 30 s inside a long one) with an ETA, and a
    :class:`TrainingProgress` to ``on_progress`` after every batch and every epoch."""
    import torch

    steps_per_epoch = math.ceil(len(data.train_ids) / config.batch_size)
    optimisation = build_optimizer(model, config, steps_per_epoch * config.num_train_epochs)
    generator = torch.Generator().manual_seed(config.seed)
    log.info(
        "training %s on %s: %d rows, %d labels, %d validation rows, %d epochs x %d batches of %d",
        config.model_name,
        device,
        len(data.train_ids),
        len(labels),
        len(data.val_ids),
        config.num_train_epochs,
        steps_per_epoch,
        config.batch_size,
    )

    history: list[EpochStats] = []
    best = BestEpoch(delta=config.early_stopping_delta)
    stopped_early = False
    clock = LoopClock(config.num_train_epochs, steps_per_epoch, time.perf_counter(), on_progress)
    for epoch in range(1, config.num_train_epochs + 1):
        stats = train_epoch(
            model, tokenizer, data, optimisation, generator, config, device, epoch=epoch, clock=clock
        )
        if data.val_ids:
            best.update(evaluate_epoch(model, tokenizer, data, config, device, stats), epoch, model)
        history.append(stats)
        _log_epoch(stats, config, clock)
        clock.report(
            "epoch",
            epoch,
            steps_per_epoch,
            stats.train_loss,
            validation_loss=stats.validation_loss,
            validation_accuracy=stats.validation_accuracy,
            validation_macro_f1=stats.validation_macro_f1,
        )
        if config.use_early_stopping and best.bad_epochs >= config.early_stopping_patience:
            stopped_early = epoch < config.num_train_epochs
            log.info(
                "early stopping after epoch %d: no validation loss improvement > %g for %d epochs",
                epoch,
                config.early_stopping_delta,
                best.bad_epochs,
            )
            break
    return LoopResult(history, best.epoch, best.loss, best.state, stopped_early)


def score_validation(
    model: Any, tokenizer: Any, validation: Examples, labels: list[str], config: TrainConfig, device: str
) -> ValidationOutputs:
    """Step 6, score every validation row (seen labels or not) with the kept model, for the threshold."""
    probabilities = predict_probabilities(
        model,
        tokenizer,
        encode(tokenizer, validation.texts, config.max_seq_length),
        config.batch_size,
        device,
    )
    best = probabilities.argmax(axis=1)
    return ValidationOutputs(
        truth=list(validation.labels),
        predicted=[labels[i] for i in best],
        confidence=[float(probabilities[i, j]) for i, j in enumerate(best)],
    )


def train_intent_classifier(
    frame: pd.DataFrame,
    config: TrainConfig,
    *,
    validation_frame: pd.DataFrame | None = None,
    on_progress: ProgressCallback | None = None,
) -> TrainedModel:
    """Fine-tune ``config.model_name`` on ``frame`` (a tagged dataset) and return the trained model.

    The steps: load data (:func:`load_examples`) -> encode labels and texts (:func:`label_set`,
    :func:`encode_examples`) -> build the model (:func:`build_model`) -> train with progress lines and
    validation each epoch (:func:`training_loop`) -> keep the best epoch's weights. Saving the archive is
    :mod:`skit_pipelines.models.archive`'s job (the caller's). ``on_progress`` receives a
    :class:`~skit_pipelines.progress_lines.TrainingProgress` after every batch and every epoch (a step prints
    them as progress lines: :class:`~skit_pipelines.progress_lines.ProgressPrinter`).

    The label set is the sorted set of training labels. Validation rows whose label never occurs in
    training cannot be scored by a classifier that lacks that class: they are counted and left out.
    """
    require_ml_extra("training")
    from transformers import set_seed

    config.validate(has_validation_frame=validation_frame is not None)
    check_label_column(frame, config.label_column)
    started = time.perf_counter()
    set_seed(config.seed)
    device = pick_device(config.device)

    # Separators come from the tokenizer; the model is loaded once the label set is known.
    tokenizer = load_tokenizer(config.model_name)
    separators = Separators.from_tokenizer(tokenizer)
    examples, validation, skipped = load_examples(frame, config, separators, validation_frame)
    labels, label_counts = label_set(examples, config.label_column)
    model = build_model(config, labels, device)
    data = encode_examples(tokenizer, examples, validation, labels, config.max_seq_length, skipped)
    loop = training_loop(model, tokenizer, data, config, device, labels, on_progress)
    if loop.best_state is not None:
        model.load_state_dict(loop.best_state)
        log.info("kept the model of epoch %d (lowest validation loss %.4f)", loop.best_epoch, loop.best_loss)
    model.eval()
    scored = (
        score_validation(model, tokenizer, validation, labels, config, device)
        if validation is not None
        else None
    )
    return TrainedModel(
        checkpoint=Checkpoint(tokenizer=tokenizer, model=model, name=config.model_name),
        labels=labels,
        separators=separators,
        config=config,
        history=loop.history,
        best_epoch=loop.best_epoch,
        stopped_early=loop.stopped_early,
        device=device,
        train_rows=len(data.train_ids),
        validation_rows=len(data.val_ids),
        skipped=skipped,
        label_counts=label_counts,
        seconds=time.perf_counter() - started,
        validation_outputs=scored,
    )
