"""Component ``train_intent_model``: fine-tune a checkpoint on a tagged CSV and store the model archive."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def train_intent_model(
    dataset_path: str,
    model_path: str = "",
    version: str = "",
    org_id: str = "",
    use_state: bool = False,
    model_name: str = "xlm-roberta-base",
    num_train_epochs: int = 10,
    learning_rate: float = 4e-5,
    max_seq_length: int = 128,
    batch_size: int = 16,
    seed: int = 42,
    use_early_stopping: bool = False,
    early_stopping_patience: int = 3,
    early_stopping_delta: float = 0.0,
    validation_split: float = 0.0,
    validation_dataset_path: str = "",
    freeze_embeddings: bool = False,
    storage_options: str = "",
    model_type: str = "xlmroberta",
    fallback_intent: str = "_oos_",
) -> NamedTuple(
    "TrainIntentModelOutput",
    [
        ("model_uri", str),
        ("labels", int),
        ("train_rows", int),
        ("validation_rows", int),
        ("epochs_run", int),
        ("best_epoch", int),
        ("final_train_loss", float),
        ("device", str),
        ("message", str),
        ("download_command", str),
    ],
):
    """Train an intent classifier (on a GPU when torch sees one) and store its archive; outputs its URI.

    The output type is spelled inline because kfp copies only this function's source into each step.
    """
    arguments = dict(locals())
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("train_voicebot_intent_model_xlmr", arguments)

    import logging

    from skit_pipelines.jobs.train_model import train_job, train_request_from

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # kfp needs every parameter in the signature above; below it they travel as one TrainRequest.
    result = train_job(train_request_from(arguments))
    print(result.message)
    names = [
        "model_uri",
        "labels",
        "train_rows",
        "validation_rows",
        "epochs_run",
        "best_epoch",
        "final_train_loss",
        "device",
        "message",
        "download_command",
    ]
    return tuple(getattr(result, name) for name in names)
