"""Component ``predict_intents``: predict ``intent_x`` for every row of a CSV with a model archive."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def predict_intents(
    data_path: str,
    model_path: str,
    org_id: str = "",
    use_state: str = "",
    batch_size: int = 32,
    top_k: int = 3,
    true_label_column: str = "intent_y",
    confidence_threshold: str = "",
    fallback_intent: str = "",
) -> NamedTuple(
    "PredictIntentsOutput",
    [
        ("predictions_uri", str),
        ("rows", int),
        ("empty_text_rows", int),
        ("unseen_truth_rows", int),
        ("device", str),
        ("message", str),
        ("out_of_scope", str),
    ],
):
    """Add intent_x, intent_x_model, intent_x_confidence and intent_x_top_k to every row (GPU when torch
    sees one); below the confidence threshold intent_x is the fallback intent.

    The features follow how the model was trained (its metadata); a different ``use_state`` is reported.
    Empty ``use_state``, ``confidence_threshold`` and ``fallback_intent`` are the archive's own.
    ``out_of_scope`` (JSON) tells the evaluation step how out of scope was decided.
    """
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("eval_voicebot_xlmr_pipeline", locals())

    import logging

    from skit_pipelines.jobs.predict import predict_job

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = predict_job(
        data_path=data_path,
        model_path=model_path,
        org_id=org_id,
        use_state=use_state,
        batch_size=batch_size,
        top_k=top_k,
        true_label_column=true_label_column,
        confidence_threshold=confidence_threshold,
        fallback_intent=fallback_intent,
    )
    print(result.message)
    names = [
        "predictions_uri",
        "rows",
        "empty_text_rows",
        "unseen_truth_rows",
        "device",
        "message",
        "out_of_scope",
    ]
    return tuple(getattr(result, name) for name in names)
