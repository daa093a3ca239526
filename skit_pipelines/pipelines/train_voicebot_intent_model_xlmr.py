"""Train XLMR model: ``train_voicebot_intent_model_xlmr`` (spec 4.5), on any transformers checkpoint.

The training step runs on the CPU unless ``use_gpu`` asks for a GPU: kfp has no "GPU if available"
request, so the step exists twice (a GPU-requesting copy under ``dsl.If(use_gpu)`` and a plain one under
``dsl.Else``) and ``dsl.OneOf`` picks the outputs of the one that ran. The local runner ignores accelerator
requests; on any machine the step uses a GPU whenever torch sees one.

With validation data (``validation_split`` or ``validation_dataset_path``) training recommends a confidence
threshold (maximising in-scope accuracy + out-of-scope recall on the validation rows, where out of scope
is the ``fallback_intent`` label or an intent absent from training) and stores it in the archive's
metadata; prediction and evaluation apply it unless given another.
"""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.train_intent_model import train_intent_model
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.placement import on_gpu_or_cpu

TrainIntentModelPipelineOutput = NamedTuple(
    "TrainIntentModelPipelineOutput",
    [("model_uri", str), ("labels", int), ("train_rows", int), ("epochs_run", int), ("device", str)],
)


@dsl.pipeline(name="train-voicebot-intent-model-xlmr")
@with_parameter_docs
def train_voicebot_intent_model_xlmr(
    dataset_path: str,
    model_path: str = "",
    version: str = "",
    storage_options: str = "",
    org_id: str = "",
    classifier_type: str = "xlmr",
    use_state: bool = False,
    model_type: str = "xlmroberta",
    model_name: str = "xlm-roberta-base",
    num_train_epochs: int = 10,
    use_early_stopping: bool = False,
    early_stopping_patience: int = 3,
    early_stopping_delta: float = 0.0,
    max_seq_length: int = 128,
    learning_rate: float = 4e-5,
    batch_size: int = 16,
    seed: int = 42,
    validation_split: float = 0.0,
    validation_dataset_path: str = "",
    freeze_embeddings: bool = False,
    fallback_intent: str = "_oos_",
    use_gpu: bool = False,
    notify: str = "",
    channel: str = "",
    slack_thread: str = "",
) -> TrainIntentModelPipelineOutput:
    """Fine-tune an intent classifier (XLM-R or any transformers checkpoint) on a tagged dataset and store it."""  # noqa: E501
    arguments = dict(
        dataset_path=dataset_path,
        model_path=model_path,
        version=version,
        org_id=org_id,
        use_state=use_state,
        model_name=model_name,
        num_train_epochs=num_train_epochs,
        learning_rate=learning_rate,
        max_seq_length=max_seq_length,
        batch_size=batch_size,
        seed=seed,
        use_early_stopping=use_early_stopping,
        early_stopping_patience=early_stopping_patience,
        early_stopping_delta=early_stopping_delta,
        validation_split=validation_split,
        validation_dataset_path=validation_dataset_path,
        freeze_embeddings=freeze_embeddings,
        storage_options=storage_options,
        model_type=model_type,
        fallback_intent=fallback_intent,
    )
    either = on_gpu_or_cpu(
        use_gpu, lambda: train_intent_model(**arguments).set_caching_options(enable_caching=False)
    )

    notify_in_slack(
        either("message"),
        either("download_command"),
        channel=channel,
        notify=notify,
        slack_thread=slack_thread,
    )
    return TrainIntentModelPipelineOutput(
        model_uri=either("model_uri"),
        labels=either("labels"),
        train_rows=either("train_rows"),
        epochs_run=either("epochs_run"),
        device=either("device"),
    )
