"""XLMR Intent evaluation: ``eval_voicebot_xlmr_pipeline`` (spec 4.6, with spec 14 item 16 fixed).

With ``s3_path_model`` the model predicts every row (``predict_intents``) and the evaluation compares the
truth with the model's own ``intent_x``; the reference evaluated ``raw.intent`` (production) even then.
Without a model it evaluates the production predictions in ``pred_label_column``. Both branches use the
intent evaluation step of ``irr_from_tog`` (``gen_irr_metrics``), so the reports are the same artifacts:
classification report and confusion matrix CSVs, intent_report.json, errors, PNGs and an HTML report.

With a model, a prediction whose confidence is below ``confidence_threshold`` (empty: the threshold
training recommended and stored in the archive; none stored: no threshold) becomes ``fallback_intent``
(empty: the archive's, ``_oos_`` by default), and the report adds in-scope accuracy, out-of-scope
precision/recall/F1 and a threshold sweep. Both branches output the per-turn predictions CSV and the errors
CSV (``predictions_uri``, ``errors_uri``), so the CLI, the API, webhooks and Slack show them.

The prediction step requests a GPU only when ``use_gpu`` is true (a GPU copy of the step under
``dsl.If``, a plain one under ``dsl.Else``, joined with ``dsl.OneOf``); the local runner ignores the request.
"""

from typing import NamedTuple

from kfp import dsl

from skit_pipelines.components.gen_irr_metrics import gen_irr_metrics
from skit_pipelines.components.predict_intents import predict_intents
from skit_pipelines.pipelines.notify import notify_in_slack
from skit_pipelines.pipelines.parameter_docs import with_parameter_docs
from skit_pipelines.pipelines.placement import on_gpu_or_cpu

MODEL_PREDICTION_COLUMN = "intent_x"

EvalXlmrOutput = NamedTuple(
    "EvalXlmrOutput",
    [
        ("report_uri", str),
        ("confusion_matrix_uri", str),
        ("html_report_uri", str),
        ("predictions_uri", str),
        ("errors_uri", str),
        ("n", int),
        ("accuracy", float),
        ("weighted_f1", float),
    ],
)


@dsl.pipeline(name="eval-voicebot-xlmr-pipeline")
@with_parameter_docs
def eval_voicebot_xlmr_pipeline(
    s3_path_data: str,
    org_id: str,
    use_state: str = "",
    model_name: str = "xlm-roberta-base",
    s3_path_model: str = "",
    notify: str = "",
    channel: str = "",
    true_label_column: str = "intent_y",
    pred_label_column: str = "raw.intent",
    slack_thread: str = "",
    batch_size: int = 32,
    top_k: int = 3,
    use_gpu: bool = False,
    confidence_threshold: str = "",
    fallback_intent: str = "",
) -> EvalXlmrOutput:
    """Evaluate intents of a tagged dataset: a model archive's own predictions, or the production ones."""
    with dsl.If(s3_path_model != "", name="with-model"):
        arguments = dict(
            data_path=s3_path_data,
            model_path=s3_path_model,
            org_id=org_id,
            use_state=use_state,
            batch_size=batch_size,
            top_k=top_k,
            true_label_column=true_label_column,
            confidence_threshold=confidence_threshold,
            fallback_intent=fallback_intent,
        )
        predicted = on_gpu_or_cpu(
            use_gpu, lambda: predict_intents(**arguments).set_caching_options(enable_caching=False)
        )
        model_metrics = gen_irr_metrics(
            dataset_uri=predicted("predictions_uri"),
            org_id=org_id,
            true_label_column=true_label_column,
            pred_label_column=MODEL_PREDICTION_COLUMN,
            out_of_scope=predicted("out_of_scope"),
            write_predictions=True,
        ).set_caching_options(enable_caching=False)
        notify_in_slack(
            model_metrics.outputs["message"],
            model_metrics.outputs["download_commands"],
            channel=channel,
            notify=notify,
            slack_thread=slack_thread,
        )
    with dsl.Else(name="production"):
        production_metrics = gen_irr_metrics(
            dataset_uri=s3_path_data,
            org_id=org_id,
            true_label_column=true_label_column,
            pred_label_column=pred_label_column,
            write_predictions=True,
        ).set_caching_options(enable_caching=False)
        notify_in_slack(
            production_metrics.outputs["message"],
            production_metrics.outputs["download_commands"],
            channel=channel,
            notify=notify,
            slack_thread=slack_thread,
        )

    def either(name: str) -> dsl.OneOf:
        return dsl.OneOf(model_metrics.outputs[name], production_metrics.outputs[name])

    return EvalXlmrOutput(
        report_uri=either("report_uri"),
        confusion_matrix_uri=either("confusion_matrix_uri"),
        html_report_uri=either("html_report_uri"),
        predictions_uri=either("predictions_uri"),
        errors_uri=either("errors_uri"),
        n=either("n"),
        accuracy=either("accuracy"),
        weighted_f1=either("weighted_f1"),
    )
