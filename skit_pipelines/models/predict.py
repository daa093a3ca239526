"""Predict intents with a model archive: ``intent_x``, its confidence and the top-k alternatives per row.

Why no label transform on the truth: the reference ran ``LabelEncoder.transform`` on the tagged truth and
crashed on any intent the model had never seen (spec 14 item 16). Prediction never needs the truth; it is
left untouched for the evaluation step, and unseen truth labels are only counted and reported (they are
errors the model cannot avoid, which an evaluation should show, not hide).

Every row gets a prediction, in input order, including rows without ASR text (counted and reported):
dropping them would silently change what an evaluation measures. The features are built exactly as in
training (same separators, ``use_state`` from the archive's metadata unless overridden).

Out of scope: a row whose confidence is below the confidence threshold gets the fallback intent
(``_oos_`` unless training named another) as ``intent_x``; ``intent_x_model`` keeps the model's own best
intent, so that an evaluation can sweep thresholds afterwards. The threshold is the caller's, else the one
training recommended and stored in the archive, else none (see :mod:`skit_pipelines.metrics.intent.oos`
for how it is chosen).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from skit_pipelines.features import FeatureError, Separators, build_model_texts, true_labels
from skit_pipelines.models.archive import ArchiveError, ModelArchive
from skit_pipelines.models.checkpoint import load_classifier, load_tokenizer, pick_device, require_ml_extra
from skit_pipelines.models.inference import encode, predict_probabilities

log = logging.getLogger(__name__)

PREDICTION_COLUMN = "intent_x"
MODEL_PREDICTION_COLUMN = "intent_x_model"
CONFIDENCE_COLUMN = "intent_x_confidence"
TOP_K_COLUMN = "intent_x_top_k"


@dataclass
class Predictions:
    """The input rows with prediction columns added, and what a reader of the results should know."""

    frame: pd.DataFrame
    use_state: bool
    device: str
    seconds: float  # tokenising and running the model (what throughput is measured on)
    load_seconds: float = 0.0  # loading the tokenizer and the model
    empty_text_rows: int = 0
    unseen_truth_labels: dict[str, int] = field(default_factory=dict)
    fallback_intent: str = ""
    confidence_threshold: float | None = None
    threshold_source: str = "none"  # "argument", "archive" or "none"
    fallback_rows: int = 0  # rows sent to the fallback intent by the threshold

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def predict_intents(
    frame: pd.DataFrame,
    archive: ModelArchive,
    *,
    use_state: bool | None = None,
    batch_size: int = 32,
    top_k: int = 3,
    device: str = "auto",
    true_label_column: str = "intent_y",
    confidence_threshold: float | None = None,
    fallback_intent: str = "",
) -> Predictions:
    """Add ``intent_x``, ``intent_x_model``, ``intent_x_confidence`` and ``intent_x_top_k`` (JSON) to a
    copy of ``frame``.

    ``use_state`` None means "as the model was trained" (the archive's metadata). ``confidence_threshold``
    None means the archive's recommended one (none stored: no threshold); 0 turns it off.
    ``fallback_intent`` empty means the archive's (``_oos_`` unless training named another).
    """
    require_ml_extra("prediction")
    import numpy as np

    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if confidence_threshold is not None and not 0 <= confidence_threshold <= 1:
        raise ValueError(f"confidence_threshold must be in [0, 1], got {confidence_threshold!r}")
    fallback = fallback_intent.strip() or archive.fallback_intent
    threshold, source = confidence_threshold, "argument"
    if threshold is None:
        threshold = archive.confidence_threshold
        source = "none" if threshold is None else "archive"
    started = time.perf_counter()
    trained_with_state = archive.use_state
    if use_state is None:
        use_state = trained_with_state
    elif use_state != trained_with_state:
        log.warning(
            "use_state=%s differs from the model's training (use_state=%s): the features will not "
            "match what the model learned",
            use_state,
            trained_with_state,
        )
    tokenizer = load_tokenizer(str(archive.path))
    model = load_classifier(str(archive.path))
    if int(model.config.num_labels) != len(archive.labels):
        raise ArchiveError(
            f"model archive {archive.path}: the classifier has {model.config.num_labels} "
            f"outputs but labels.json lists {len(archive.labels)} labels"
        )
    device = pick_device(device)
    model.to(device)
    loaded = time.perf_counter()
    try:
        texts = build_model_texts(frame, Separators.from_tokenizer(tokenizer), use_state=use_state)
    except FeatureError as exc:
        raise FeatureError(f"prediction dataset: {exc}") from exc
    if texts.empty_count:
        log.warning(
            "%d of %d rows have no ASR text; they are predicted from %s",
            texts.empty_count,
            len(frame),
            "the state alone" if use_state else "an empty text",
        )
    max_len = int(archive.metadata.get("parameters", {}).get("max_seq_length", 128))
    probs = predict_probabilities(
        model, tokenizer, encode(tokenizer, texts.texts, max_len), batch_size, device
    )
    k = min(top_k, len(archive.labels))
    best = np.argsort(-probs, axis=1)[:, :k] if len(probs) else np.zeros((0, k), dtype=int)
    labels = archive.labels
    out = frame.copy()
    model_labels = np.asarray([labels[row[0]] for row in best], dtype=object)
    confidences = np.asarray([round(float(probs[i, row[0]]), 6) for i, row in enumerate(best)])
    final = model_labels.copy()
    if threshold is not None:
        final[confidences < threshold] = fallback
    out[PREDICTION_COLUMN] = final
    out[MODEL_PREDICTION_COLUMN] = model_labels
    out[CONFIDENCE_COLUMN] = confidences
    out[TOP_K_COLUMN] = [
        json.dumps([{"intent": labels[j], "score": round(float(probs[i, j]), 6)} for j in row])
        for i, row in enumerate(best)
    ]
    unseen: dict[str, int] = {}
    if true_label_column in frame.columns or "tag" in frame.columns:
        known = set(labels)
        truth = true_labels(frame, true_label_column)
        unseen = dict(Counter(t for t in truth if t is not None and t not in known))
        if unseen:
            log.warning(
                "%d rows have true labels the model never saw in training (%s): they count as errors",
                sum(unseen.values()),
                ", ".join(sorted(unseen)[:10]),
            )
    result = Predictions(
        frame=out,
        use_state=use_state,
        device=device,
        seconds=time.perf_counter() - loaded,
        load_seconds=loaded - started,
        empty_text_rows=texts.empty_count,
        unseen_truth_labels=unseen,
        fallback_intent=fallback,
        confidence_threshold=threshold,
        threshold_source=source,
        fallback_rows=int((final != model_labels).sum()),
    )
    log.info(
        "predicted %d rows on %s in %.1f s (%.0f rows/s; model loaded in %.1f s)",
        result.rows,
        device,
        result.seconds,
        result.rows_per_second,
        result.load_seconds,
    )
    return result
