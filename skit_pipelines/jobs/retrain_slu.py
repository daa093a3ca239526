"""Retrain SLU (issue 13, spec 7): new annotations -> dataset -> model -> comparison with production -> MR.

The steps run in the reference's order, each a named function below:

1. :func:`open_checkout`: the repository is reachable, ``repo_branch`` (and ``production_branch``) exist,
   ``slu.yaml`` parses, ``data.dvc`` agrees with ``initial_training``;
   :func:`read_new_data`: the datasets and the alias YAML are readable (Label Studio projects and/or
   ``dataset_path`` CSVs, the optional custom test set);
2. :func:`start_branch`: a new branch named by the UTC time, from ``repo_branch``;
3. :func:`restore_previous`: ``dvc pull`` of the previous data (or ``dvc init`` on a first training);
4. :func:`prepare`: the next train/test sets (:mod:`skit_pipelines.slu.dataset_prep`; an intent left)
   -- steps 1 to 4 are also the cheap validation (:func:`validate_retraining`), run before any training;
5. :func:`train_model` with this product's trainer on the project's ``slu.yaml`` (``epochs`` overrides it when
   given), then :func:`evaluate_model` on the test set;
6. :func:`evaluate_production`: the model at ``production_branch`` (``dvc get --rev``) on the same test set,
   and :func:`write_comparison` (CSV, Markdown, HTML artifacts);
7. :func:`publish_branch`: ``dvc add``, ``dvc push``, then commit and ``git push`` (never a branch whose data
   is not in the DVC remote);
8. :func:`open_review`: the merge/pull request when a forge is configured (idempotent), else the branch and
   the Markdown, and how to open it by hand.

:func:`evaluate_branch` (``evaluate_slu``) runs steps 1, 5 (evaluation only) and 6 on an existing branch:
no training, no commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from skit_pipelines import storage
from skit_pipelines.annotation.download import DownloadRequest, download_request, fetch_tagged_dataset
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.forge import ForgeError, open_merge_request
from skit_pipelines.jobs.model_inputs import read_dataset
from skit_pipelines.jobs.slu_repo import SluConnections
from skit_pipelines.jobs.step_times import StepTimes
from skit_pipelines.jobs.train_model import check_checkpoint_readable
from skit_pipelines.jobs.yaml_inputs import load_alias
from skit_pipelines.metrics.tagged import read_tagged_csv
from skit_pipelines.parameters import split_list
from skit_pipelines.slu.comparison import ProductionComparison, compare_with_production
from skit_pipelines.slu.dataset_prep import (
    PreparationOptions,
    PreparedDatasets,
    PreviousDataset,
    prepare_datasets,
)
from skit_pipelines.slu.layout import MODELS_DIR, SluLayout, run_name
from skit_pipelines.slu.project_config import SluProjectConfig, parse_project_config
from skit_pipelines.vcs.dvc import DataState, Dvc, check_state
from skit_pipelines.vcs.errors import DvcError, GitBranchNotFoundError, GitError
from skit_pipelines.vcs.git import (
    Author,
    GitRepo,
    clone,
    default_branch,
    remote_branch_exists,
    timestamp_branch,
)
from skit_pipelines.vcs.publish import publish
from skit_pipelines.vcs.redact import Redactor

log = logging.getLogger(__name__)

__all__ = [
    "EvaluationResult",
    "RetrainRequest",
    "RetrainResult",
    "RetrainSetupError",
    "ReviewError",
    "evaluate_branch",
    "retrain_request_from",
    "retrain_slu",
    "validate_retraining",
]

AUTHOR = Author("automation", "automation@skit.ai")
LABEL = "tag"  # the intent column of the project's datasets
PREDICTED = "intent_x"


class RetrainSetupError(SkitPipelinesError, ValueError):
    """The repository, a branch, a dataset or the DVC setup is not usable; the message says which."""


class ReviewError(SkitPipelinesError, RuntimeError):
    """The branch and its data were published but the forge refused or failed the merge request."""


# ------------------------------------------------------------------------------------------ the request


@dataclass(frozen=True)
class RetrainRequest:
    """One retraining (or evaluation) run, built once from the pipeline's parameters."""

    repo_name: str
    repo_branch: str = "master"
    dataset_paths: tuple[str, ...] = ()
    custom_test_dataset_paths: tuple[str, ...] = ()
    download: DownloadRequest | None = None
    alias_yaml_path: str = ""
    remove_intents: tuple[str, ...] = ()
    initial_training: bool = False
    use_previous_dataset: bool = True
    epochs: int = 0
    """0: the project's ``slu.yaml`` says (10 when it says nothing); more: this many, overriding it."""
    train_split_percent: int = 85
    stratify: bool = False
    target_mr_branch: str = "sandbox"
    production_branch: str = ""
    """Empty: the repository's default branch (the reference assumed ``master``)."""
    use_gpu: bool = False
    """Asked of the cluster by the pipeline (a GPU-requesting step); training uses CUDA whenever present."""


def retrain_request_from(arguments: Mapping[str, Any], *, now: dt.datetime | None = None) -> RetrainRequest:
    """The request of a step's raw parameters (the pipeline's names; unknown names are ignored)."""
    get = arguments.get
    project_ids = str(get("labelstudio_project_ids", "") or "")
    job_ids = str(get("job_ids", "") or "")
    download = None
    if project_ids.strip() or job_ids.strip():
        download = download_request(
            labelstudio_project_id=project_ids,
            job_id=job_ids,
            start_date=str(get("job_start_date", "") or ""),
            end_date=str(get("job_end_date", "") or ""),
            timezone=str(get("timezone", "") or ""),
            empty_possible=True,
            now=now,
        )
    test_path = get("custom_test_dataset_path", get("test_dataset_path", "")) or ""
    return RetrainRequest(
        repo_name=str(get("repo_name", "") or "").strip(),
        repo_branch=str(get("repo_branch", "master") or "master").strip(),
        dataset_paths=tuple(split_list(str(get("dataset_path", "") or ""))),
        custom_test_dataset_paths=tuple(split_list(str(test_path))),
        download=download,
        alias_yaml_path=str(get("alias_yaml_path", "") or "").strip(),
        remove_intents=tuple(split_list(str(get("remove_intents", "") or ""))),
        initial_training=bool(get("initial_training", False)),
        use_previous_dataset=bool(get("use_previous_dataset", True)),
        epochs=int(get("epochs", 0) or 0),
        train_split_percent=int(get("train_split_percent", 85)),
        stratify=bool(get("stratify", False)),
        target_mr_branch=str(get("target_mr_branch", "sandbox") or "sandbox").strip(),
        production_branch=str(get("production_branch", get("compare_branch", "")) or "").strip(),
        use_gpu=bool(get("use_gpu", False)),
    )


# ------------------------------------------------------------------------------------------ step 1


@dataclass
class Checkout:
    """The cloned project at ``repo_branch`` and what was checked about it."""

    url: str
    repo: GitRepo
    dvc: Dvc
    layout: SluLayout
    config: SluProjectConfig
    state: DataState
    production_branch: str
    redact: Redactor

    @property
    def shown_url(self) -> str:
        return self.redact(self.url)


def open_checkout(
    request: RetrainRequest, connections: SluConnections, work: Path, *, initial_training: bool | None = None
) -> Checkout:
    """Step 1 (repository): reachable, branches exist, ``slu.yaml`` valid, DVC state as initial_training."""
    url = connections.repo_url(request.repo_name)
    credentials = connections.credentials(url)
    redact = Redactor(connections.secrets())
    shown = redact(connections.shown(url))
    try:
        exists = remote_branch_exists(url, request.repo_branch, credentials=credentials)
    except GitError as exc:
        raise RetrainSetupError(
            f"SLU repository {request.repo_name!r} ({shown}) is not reachable: {redact(str(exc))}"
        ) from None
    if not exists:
        raise GitBranchNotFoundError(
            f"branch {request.repo_branch!r} does not exist in SLU repository {request.repo_name!r} ({shown})"
        )
    production = request.production_branch or default_branch(url, credentials=credentials)
    if production != request.repo_branch and not remote_branch_exists(
        url, production, credentials=credentials
    ):
        raise GitBranchNotFoundError(
            f"production_branch {production!r} does not exist in SLU repository "
            f"{request.repo_name!r} ({shown})"
        )
    repo = clone(url, work / "repo", credentials=credentials)
    repo.checkout(request.repo_branch)
    layout = SluLayout(repo.path)
    text = layout.config_file.read_text(encoding="utf-8") if layout.config_file.is_file() else None
    config = parse_project_config(text, source=f"{request.repo_name}@{request.repo_branch}:slu.yaml")
    state = check_state(repo.path, request.initial_training if initial_training is None else initial_training)
    dvc = Dvc(
        repo.path, dvc=connections.dvc_program(), credentials=credentials, secrets=connections.secrets()
    )
    return Checkout(url, repo, dvc, layout, config, state, production, redact)


@dataclass
class NewData:
    """Step 1 (inputs): the new sources as ``(name, frame)``, the custom test set, the aliases."""

    sources: list[tuple[str, pd.DataFrame]]
    custom_test: pd.DataFrame | None
    custom_test_name: str
    aliases: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


def _read_csvs(paths: tuple[str, ...], work: Path, what: str) -> list[tuple[str, pd.DataFrame]]:
    out = []
    for index, path in enumerate(paths, start=1):
        frame, _digest = read_dataset(path, work, f"{what} {index}")
        out.append((path, frame))
    return out


def read_new_data(request: RetrainRequest, connections: SluConnections, work: Path, org: str = "") -> NewData:
    """Step 1-2 (inputs): Label Studio annotations and ``dataset_path`` CSVs, the custom test set, aliases."""
    inputs = work / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    aliases = load_alias(request.alias_yaml_path, "alias_yaml_path") if request.alias_yaml_path else None
    sources: list[tuple[str, pd.DataFrame]] = []
    notes: list[str] = []
    if request.download is not None and request.download.project_ids:
        if not connections.labelstudio_url:
            raise RetrainSetupError(
                "labelstudio_project_ids/job_ids were given but SKIT_LABELSTUDIO_URL is not set"
            )
        tagged = fetch_tagged_dataset(
            request.download,
            org_id=org or request.repo_name.replace("/", "_"),
            url=connections.labelstudio_url,
            token=connections.labelstudio_token,
        )
        frame, _digest = read_dataset(tagged.uri, inputs, "annotations")
        ids = ",".join(map(str, request.download.project_ids))
        sources.append((f"labelstudio projects {ids}", frame))
        notes.append(tagged.message)
    sources += _read_csvs(request.dataset_paths, inputs, "dataset_path")
    custom = _read_csvs(request.custom_test_dataset_paths, inputs, "custom_test_dataset_path")
    custom_test = pd.concat([f for _n, f in custom], ignore_index=True, sort=False) if custom else None
    return NewData(sources, custom_test, ", ".join(n for n, _f in custom), aliases or {}, notes)


# ------------------------------------------------------------------------------------------ steps 2-4


def start_branch(checkout: Checkout, base: str, now: dt.datetime | None = None) -> str:
    """Step 2: a new branch named by the UTC time, from ``base``."""
    branch = timestamp_branch(now)
    checkout.repo.create_branch(branch, base)
    return branch


def _has_remote(dvc: Dvc) -> bool:
    try:
        return bool(dvc.run("remote", "default").strip())
    except DvcError:
        return False


def restore_previous(checkout: Checkout) -> PreviousDataset | None:
    """Step 3: ``dvc pull`` of the previous data, or ``dvc init`` on a first training (remote required)."""
    layout = checkout.layout
    if checkout.state is DataState.INITIAL:
        if not (layout.root / ".dvc").is_dir():
            checkout.dvc.init()
        if not _has_remote(checkout.dvc):
            raise RetrainSetupError(
                f"{checkout.shown_url} has no default DVC remote in .dvc/config: add one "
                "(`dvc remote add --default storage s3://bucket/prefix`) or create the repository with "
                "`skit-pipelines slu init`"
            )
        for folder in layout.directories():
            folder.mkdir(parents=True, exist_ok=True)
        return None
    try:
        checkout.dvc.pull()
    except DvcError as exc:
        raise RetrainSetupError(
            f"dvc pull of the previous data failed: {checkout.redact(str(exc))}"
        ) from None
    if not layout.train_csv.is_file():
        return None
    train = read_tagged_csv(layout.train_csv)
    test = read_tagged_csv(layout.test_csv) if layout.test_csv.is_file() else None
    return PreviousDataset(train=train, test=test)


def prepare(
    request: RetrainRequest, checkout: Checkout, new: NewData, previous: PreviousDataset | None
) -> PreparedDatasets:
    """Step 4: the next train and test sets (spec 7.3 g, i), written to the checkout."""
    options = PreparationOptions(
        train_split_percent=request.train_split_percent,
        stratify=request.stratify,
        seed=checkout.config.seed,
        use_previous_dataset=request.use_previous_dataset and checkout.state is DataState.RETRAIN,
        aliases=new.aliases,
        remove_intents=request.remove_intents,
    )
    prepared = prepare_datasets(
        new.sources, options, previous, custom_test=new.custom_test, custom_test_name=new.custom_test_name
    )
    for line in prepared.report.lines():
        log.info("dataset: %s", line)
    return prepared


def _write_datasets(layout: SluLayout, prepared: PreparedDatasets) -> None:
    layout.datasets_dir.mkdir(parents=True, exist_ok=True)
    prepared.train.to_csv(layout.train_csv, index=False)
    prepared.test.to_csv(layout.test_csv, index=False)


# ------------------------------------------------------------------------------------------ step 5


@dataclass
class ModelEvaluation:
    """One model on the evaluation rows: the report (sklearn dict), the confusion, the run's CSVs."""

    report: dict[str, Any]
    confusion: Any
    accuracy: float
    rows: int


def train_model(layout: SluLayout, config: SluProjectConfig, epochs: int, prepared: PreparedDatasets) -> str:
    """Step 5: train on ``train.csv`` with the project's config (``epochs`` > 0 overrides it), save it."""
    from skit_pipelines.models.archive import save_model
    from skit_pipelines.models.train import TrainConfig, train_intent_classifier
    from skit_pipelines.progress_lines import ProgressPrinter

    if epochs > 0:
        config = config.overridden(epochs=epochs)
    check_checkpoint_readable(config.model_name)
    train_config = TrainConfig(**config.trainer_arguments(), label_column=LABEL)
    # progress lines on the step's output: the CLI view and the API's run status show them
    trained = train_intent_classifier(prepared.train, train_config, on_progress=ProgressPrinter(sys.stdout))
    if layout.models_dir.exists():
        shutil.rmtree(layout.models_dir)
    save_model(trained, layout.models_dir, extra_metadata={"trained_by": "retrain_slu"})
    last = trained.history[-1]
    return (
        f"trained {config.model_name} on {trained.train_rows:,} rows, {len(trained.labels)} intents, "
        f"{len(trained.history)} epochs on {trained.device} (final train loss {last.train_loss:.4f})"
    )


def evaluate_model(models_dir: Path, frame: pd.DataFrame, source: str) -> ModelEvaluation:
    """Step 5 (evaluation): the model in ``models_dir`` predicts every row; scored against ``tag``."""
    from skit_pipelines.metrics.intent.evaluation import evaluate_intents
    from skit_pipelines.models.archive import read_archive
    from skit_pipelines.models.predict import predict_intents

    archive = read_archive(models_dir, source)
    predictions = predict_intents(frame, archive, true_label_column=LABEL)
    evaluation = evaluate_intents(predictions.frame, true_label_column=LABEL, pred_label_column=PREDICTED)
    return ModelEvaluation(evaluation.report, evaluation.confusion, evaluation.accuracy, evaluation.n)


def write_metrics(layout: SluLayout, run: str, evaluation: ModelEvaluation) -> None:
    """The run's ``classification_report.csv`` and ``full_confusion_matrix.csv`` under ``metrics/<run>/``."""
    from skit_pipelines.metrics.intent.scores import report_frame

    layout.metrics_run_dir(run).mkdir(parents=True, exist_ok=True)
    report_frame(evaluation.report).to_csv(layout.classification_report(run))
    evaluation.confusion.to_frame().to_csv(layout.confusion_matrix(run))


# ------------------------------------------------------------------------------------------ step 6


def _production_has_model(checkout: Checkout, production: str) -> str | None:
    """The commit of ``production`` when it tracks data (``data.dvc``), else None (no production model)."""
    commit = checkout.repo.git("rev-parse", f"origin/{production}^{{commit}}").strip()
    try:
        checkout.repo.git("cat-file", "-e", f"{commit}:data.dvc")
    except GitError:
        return None
    return commit


def evaluate_production(
    checkout: Checkout, frame: pd.DataFrame, work: Path
) -> tuple[ModelEvaluation | None, str]:
    """Step 6: the model at ``production_branch`` (``dvc get --rev``) on the same rows, or (None, why)."""
    production = checkout.production_branch
    checkout.repo.fetch()
    commit = _production_has_model(checkout, production)
    if commit is None:
        return None, f"{production} tracks no data yet"
    # a local branch at that commit: DVC clones this working copy, and a clone copies local branches only
    checkout.repo.git("update-ref", "refs/heads/skit-production", commit)
    commit = "skit-production"
    listing = checkout.dvc.run("ls", "--rev", commit, str(checkout.repo.path), str(MODELS_DIR.parent))
    if MODELS_DIR.name not in listing.split():
        return None, f"{production} has no model in {MODELS_DIR}"
    out = work / "production-models"
    checkout.dvc.get(str(checkout.repo.path), str(MODELS_DIR), out, rev=commit)
    if not any(out.rglob("labels.json")):
        return None, f"{production} has no model archive (labels.json) in {MODELS_DIR}"
    return evaluate_model(out, frame, f"production model ({production})"), ""


@dataclass
class ComparisonFiles:
    """The comparison's artifacts (URIs) and its Markdown (the merge-request description)."""

    report_uri: str
    confusion_uri: str
    markdown_uri: str
    html_uri: str
    markdown: str


def write_comparison(
    comparison: ProductionComparison,
    layout: SluLayout,
    run: str,
    reference: str,
    heading: str,
    data_lines: list[str],
) -> ComparisonFiles:
    """Step 6 (reports): CSV/Markdown/HTML in the run's metrics folder and as artifacts."""
    markdown = comparison.markdown(heading=heading)
    if data_lines:
        markdown += "\n## Data\n\n" + "\n".join(f"- {line.strip()}" for line in data_lines) + "\n"
    folder = layout.metrics_run_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "comparison_classification_report": (comparison.report_csv(), ".csv"),
        "comparison_confusion_matrix": (comparison.confusion_csv(), ".csv"),
        "MR-Description": (markdown, ".md"),
        "comparison_report": (comparison.html(), ".html"),
    }
    uris = {}
    for file_type, (text, ext) in texts.items():
        (folder / f"{file_type}{ext}").write_text(text, encoding="utf-8")
        uris[file_type] = storage.upload_bytes(
            text.encode("utf-8"), reference=reference, file_type=file_type, ext=ext
        )
    return ComparisonFiles(
        report_uri=uris["comparison_classification_report"],
        confusion_uri=uris["comparison_confusion_matrix"],
        markdown_uri=uris["MR-Description"],
        html_uri=uris["comparison_report"],
        markdown=markdown,
    )


# ------------------------------------------------------------------------------------------ steps 7-8


def commit_message(
    prepared: PreparedDatasets, latest: ModelEvaluation, production: ModelEvaluation | None
) -> str:
    """Names the data sources and the metrics (the reference's "Trained XLMR model using <data info>")."""
    subject = f"Trained intent model using {prepared.report.summary()}"
    metrics = f"accuracy {latest.accuracy:.3f} on {latest.rows:,} test rows"
    if production is not None:
        metrics += f" (production {production.accuracy:.3f})"
    return "\n".join([subject, "", metrics, "", *prepared.report.lines()])


def publish_branch(checkout: Checkout, branch: str, message: str) -> str:
    """Step 7: ``dvc add data``, then :func:`skit_pipelines.vcs.publish.publish` (dvc push, commit, push)."""
    checkout.dvc.add("data")
    return publish(checkout.repo, checkout.dvc, branch, message, AUTHOR, paths=["slu.yaml"])


@dataclass
class Review:
    url: str
    created: bool
    how_to: str


def open_review(url: str, connections: SluConnections, branch: str, target: str, description: str) -> Review:
    """Step 8: open (or find) the merge request of the repository at ``url``; without a forge, say how to
    open it by hand. Idempotent: for a branch with an open merge request, that one is returned."""
    forge = connections.forge_for(url)
    if forge is None:
        how = (
            f"No forge is configured for {connections.shown(url)}: open a merge request from branch "
            f"{branch!r} into {target!r} by hand, with the comparison Markdown as its description "
            "(or set SKIT_GITLAB_URL/SKIT_GITLAB_TOKEN or SKIT_GITHUB_URL/SKIT_GITHUB_TOKEN)."
        )
        return Review("", False, how)
    mr = open_merge_request(
        url,
        source_branch=branch,
        target_branch=target,
        description=description,
        token=forge.token,
        kind=forge.kind,  # type: ignore[arg-type]
        api_url=forge.api_url,
    )
    return Review(mr.url, mr.created, "")


# ------------------------------------------------------------------------------------------ the whole


@dataclass
class RetrainResult:
    """What a retraining run produced (the pipeline's outputs)."""

    branch: str
    mr_url: str
    commit: str
    comparison_classification_report: str
    comparison_confusion_matrix: str
    comparison_markdown: str
    comparison_html: str
    new_rows: int
    train_rows: int
    test_rows: int
    intents: int
    accuracy: float
    production_accuracy: float
    description: str
    message: str
    download_commands: str
    preparation: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each step (``train``, ``publish``, ...), in the order they ran."""


@dataclass
class Validated:
    checkout: Checkout
    new: NewData
    previous: PreviousDataset | None
    prepared: PreparedDatasets


def _validate(request: RetrainRequest, connections: SluConnections, work: Path, org: str) -> Validated:
    """Steps 1-4 without a branch: what the reference's "Validate Training Setup" checked."""
    checkout = open_checkout(request, connections, work)
    new = read_new_data(request, connections, work, org)
    previous = restore_previous(checkout)
    prepared = prepare(request, checkout, new, previous)
    return Validated(checkout, new, previous, prepared)


def validate_retraining(request: RetrainRequest, connections: SluConnections) -> str:
    """The cheap validation step: every check of steps 1-4 (no branch, no training); the preparation lines."""
    with tempfile.TemporaryDirectory(prefix="skit-slu-validate-") as scratch:
        validated = _validate(request, connections, Path(scratch), "")
        return "\n".join(validated.prepared.report.lines())


def _message(request: RetrainRequest, review: Review, branch: str, comparison: ProductionComparison) -> str:
    if review.url:
        head = f"Finished training {request.repo_name} SLU, please review <{review.url}|this MR>"
    else:
        head = f"Finished training {request.repo_name} SLU on branch {branch}. {review.how_to}"
    return "\n".join([head, *comparison.summary_lines()])


def retrain_slu(
    request: RetrainRequest, connections: SluConnections, *, now: dt.datetime | None = None
) -> RetrainResult:
    """Steps 1-8 (see the module docstring); a failure leaves nothing pushed that claims to be done.

    A merge request that cannot be opened after the branch was pushed fails the run with
    :class:`ReviewError`, which says that the branch and its data are published and how to open the merge
    request by hand. The wall time of each step is logged and returned (``seconds``).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    run = run_name(now)
    times = StepTimes()
    with tempfile.TemporaryDirectory(prefix="skit-slu-retrain-") as scratch:
        work = Path(scratch)
        with times.step("checkout"):
            checkout = open_checkout(request, connections, work)
        with times.step("new data"):
            new = read_new_data(request, connections, work)
        with times.step("previous data"):
            branch = start_branch(checkout, request.repo_branch, now)
            previous = restore_previous(checkout)
        with times.step("prepare"):
            prepared = prepare(request, checkout, new, previous)
            layout = checkout.layout
            _write_datasets(layout, prepared)
        with times.step("train"):
            trained = train_model(layout, checkout.config, request.epochs, prepared)
        log.info("%s", trained)
        with times.step("evaluate"):
            latest = evaluate_model(layout.models_dir, prepared.evaluation, "latest model")
            write_metrics(layout, run, latest)
        with times.step("production"):
            production, why = evaluate_production(checkout, prepared.evaluation, work)
        with times.step("comparison"):
            comparison = compare_with_production(
                latest.report,
                latest.confusion,
                production.report if production else None,
                production.confusion if production else None,
                production_ref=f"branch {checkout.production_branch}",
            )
            lines = [*prepared.report.lines(), trained, *new.notes]
            if why:
                lines.append(f"production: none ({why})")
            files = write_comparison(
                comparison,
                layout,
                run,
                request.repo_name.replace("/", "_"),
                f"Retrained {request.repo_name} SLU",
                lines,
            )
        with times.step("publish"):
            commit = publish_branch(checkout, branch, commit_message(prepared, latest, production))
        with times.step("merge request"):
            review = _open_review_of_published(request, checkout, connections, branch, commit, files)
        log.info("%s", times.line())
        report = prepared.report
        uris = (files.report_uri, files.confusion_uri, files.html_uri)
        return RetrainResult(
            branch=branch,
            mr_url=review.url,
            commit=commit,
            comparison_classification_report=files.report_uri,
            comparison_confusion_matrix=files.confusion_uri,
            comparison_markdown=files.markdown_uri,
            comparison_html=files.html_uri,
            new_rows=report.new_rows,
            train_rows=report.train_rows,
            test_rows=report.evaluation_rows,
            intents=len(report.intents),
            accuracy=float(latest.accuracy),
            production_accuracy=float(production.accuracy) if production else -1.0,
            description=files.markdown,
            message=checkout.redact(_message(request, review, branch, comparison)),
            download_commands="\n".join(storage.download_command(uri) for uri in uris),
            preparation=report.to_dict(),
            seconds=dict(times.seconds),
        )


def _open_review_of_published(
    request: RetrainRequest,
    checkout: Checkout,
    connections: SluConnections,
    branch: str,
    commit: str,
    files: ComparisonFiles,
) -> Review:
    """Step 8 after a successful publish: a forge failure says what is done and what is left to do."""
    try:
        return open_review(checkout.url, connections, branch, request.target_mr_branch, files.markdown)
    except ForgeError as exc:
        raise ReviewError(
            checkout.redact(
                f"branch {branch!r} was pushed to {checkout.shown_url} (commit {commit[:12]}, its data in "
                f"the DVC remote), but its merge request into {request.target_mr_branch!r} was not opened: "
                f"{exc}. Open it by hand from {branch!r} into {request.target_mr_branch!r}, with the "
                f"description in {files.markdown_uri}."
            )
        ) from exc


@dataclass
class EvaluationResult:
    """What ``evaluate_slu`` produced."""

    comparison_classification_report: str
    comparison_confusion_matrix: str
    comparison_markdown: str
    comparison_html: str
    test_rows: int
    accuracy: float
    production_accuracy: float
    message: str
    download_commands: str


def evaluate_branch(
    request: RetrainRequest, connections: SluConnections, *, now: dt.datetime | None = None
) -> EvaluationResult:
    """``evaluate_slu``: the model of ``repo_branch`` and of ``production_branch`` on the test rows.

    The rows are the custom test set / new data when given (aliases and ``remove_intents`` applied),
    else the branch's own ``test.csv``. Nothing is committed or pushed.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    run = run_name(now)
    with tempfile.TemporaryDirectory(prefix="skit-slu-evaluate-") as scratch:
        work = Path(scratch)
        checkout = open_checkout(request, connections, work, initial_training=False)
        new = read_new_data(request, connections, work)
        previous = restore_previous(checkout)
        frame = _evaluation_rows(request, checkout, new, previous)
        latest = evaluate_model(checkout.layout.models_dir, frame, f"model of {request.repo_branch}")
        production, why = evaluate_production(checkout, frame, work)
        comparison = compare_with_production(
            latest.report,
            latest.confusion,
            production.report if production else None,
            production.confusion if production else None,
            production_ref=f"branch {checkout.production_branch}",
        )
        lines = [f"production: none ({why})"] if why else []
        files = write_comparison(
            comparison,
            checkout.layout,
            run,
            request.repo_name.replace("/", "_"),
            f"{request.repo_name}@{request.repo_branch} vs {checkout.production_branch}",
            lines,
        )
        head = f"Evaluated {request.repo_name} SLU at {request.repo_branch} on {latest.rows:,} rows"
        uris = (files.report_uri, files.confusion_uri, files.html_uri)
        return EvaluationResult(
            comparison_classification_report=files.report_uri,
            comparison_confusion_matrix=files.confusion_uri,
            comparison_markdown=files.markdown_uri,
            comparison_html=files.html_uri,
            test_rows=latest.rows,
            accuracy=float(latest.accuracy),
            production_accuracy=float(production.accuracy) if production else -1.0,
            message=checkout.redact("\n".join([head, *comparison.summary_lines()])),
            download_commands="\n".join(storage.download_command(uri) for uri in uris),
        )


def _evaluation_rows(
    request: RetrainRequest, checkout: Checkout, new: NewData, previous: PreviousDataset | None
) -> pd.DataFrame:
    """The rows ``evaluate_slu`` scores: the given data (all of it) or the branch's test.csv."""
    given = new.custom_test if new.custom_test is not None else None
    if given is None and new.sources:
        given = pd.concat([f for _n, f in new.sources], ignore_index=True, sort=False)
    if given is None:
        if previous is None or previous.test is None or previous.test.empty:
            raise RetrainSetupError(
                f"branch {request.repo_branch!r} has no test.csv and no test data was given "
                "(custom_test_dataset_path, dataset_path or Label Studio projects)"
            )
        given = previous.test
    options = PreparationOptions(
        train_split_percent=100,
        use_previous_dataset=False,
        aliases=new.aliases,
        remove_intents=request.remove_intents,
    )
    prepared = prepare_datasets(
        [("test data", given)], options, None, custom_test=given, custom_test_name="test data"
    )
    return prepared.evaluation
