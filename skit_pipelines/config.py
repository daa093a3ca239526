"""Settings for every external system, each with an embedded default.

Why pydantic-settings: one typed object read from ``SKIT_*`` environment variables and an optional
``.env`` file, validated once, with secrets held as ``SecretStr`` so that printing the settings never
leaks them. Importing the package reads nothing that must exist: every field has a default that works
on a laptop with no services (SQLite files and a local artifact folder under ``SKIT_HOME``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from skit_pipelines import __version__
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.runtime import RuntimeConfig

DEFAULT_HOME = Path(".skit")


class Settings(BaseSettings):
    """Effective configuration. Field ``x`` is read from ``SKIT_X``."""

    model_config = SettingsConfigDict(env_prefix="SKIT_", env_file=".env", extra="ignore")

    home: Path = Field(DEFAULT_HOME, description="Folder for local state: databases, artifacts, run folders.")

    # Call warehouse and our own database (metrics tables, run records).
    warehouse_url: str = Field(
        "",
        description="SQLAlchemy URL of the call warehouse (default: the demo warehouse, SQLite in home).",
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL for metrics tables, the LLM situations registry and run records."
    )

    # Artifacts.
    artifact_root: str = Field(
        "", description="Local folder or s3://bucket/prefix where outputs are written."
    )
    s3_endpoint_url: str = Field("", description="Endpoint of an S3-compatible store (empty: AWS).")
    s3_region: str = Field("us-east-1", description="Region for the S3 client.")

    # Pipeline runner.
    kfp_host: str = Field("", description="Kubeflow Pipelines API URL; empty runs pipelines locally.")
    kfp_token: SecretStr = Field(SecretStr(""), description="Bearer token for the Kubeflow Pipelines API.")
    kfp_namespace: str = Field("kubeflow", description="Kubeflow namespace for runs.")
    kfp_experiment: str = Field("Default", description="Kubeflow experiment that runs are filed under.")
    kfp_ui_url: str = Field("", description="Kubeflow UI base URL for run links (default: kfp_host).")
    kfp_poll_seconds: float = Field(5.0, description="How often a Kubeflow run is polled.")
    image: str = Field(
        f"skit-pipelines:{__version__}",
        description="Container image of every step; on a cluster a registry path such as "
        "registry.example.com/<team>/skit-pipelines:<version> (default: the local tag).",
    )
    # How steps run as pods on a cluster (skit_pipelines/podconfig.py; README "Running on a Kubeflow
    # Pipelines cluster"). Setting any of these (or kfp_host) turns cluster mode on for compile and run.
    kfp_secret: str = Field(
        "",
        description="Kubernetes secret(s), comma-separated, whose keys (SKIT_* settings, AWS_*) become every "
        "step's environment; only the names go into the YAML.",
    )
    kfp_secret_keys: str = Field(
        "",
        description="Keys taken from SKIT_KFP_SECRET, comma-separated and required (default: every "
        "SKIT_* step setting and AWS_* name, each used when present).",
    )
    kfp_config_map: str = Field(
        "",
        description="Kubernetes config map(s), comma-separated, whose keys become every step's environment.",
    )
    kfp_config_map_keys: str = Field(
        "", description="Keys taken from SKIT_KFP_CONFIG_MAP (default: as SKIT_KFP_SECRET_KEYS)."
    )
    kfp_gpu_node_selector: str = Field(
        "",
        description="label=value that GPU steps (use_gpu) are scheduled on, "
        "e.g. nvidia.com/gpu.present=true.",
    )
    kfp_gpu_toleration: str = Field(
        "",
        description="Taint GPU steps tolerate: key=value:Effect, key:Effect or key "
        "(e.g. nvidia.com/gpu:NoSchedule).",
    )
    kfp_image_pull_secret: str = Field(
        "", description="Image pull secret(s) of the step pods, comma-separated (a private registry)."
    )
    kfp_cpu_request: str = Field("500m", description="CPU request of a step without its own default.")
    kfp_memory_request: str = Field("1Gi", description="Memory request of a step without its own default.")
    kfp_resources: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description='Requests per component, JSON: {"train-intent-model": {"cpu": "4", "memory": "16Gi"}} '
        "(defaults: training and SLU retraining 2 CPU / 8Gi, prediction 1 CPU / 4Gi).",
    )

    # Annotation, notifications, entity parsing.
    labelstudio_url: str = Field("", description="Label Studio base URL.")
    labelstudio_token: SecretStr = Field(SecretStr(""), description="Label Studio API token.")
    slack_token: SecretStr = Field(SecretStr(""), description="Slack bot token; empty logs notifications.")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    slack_default_channel: str = Field("", description="Channel used when a pipeline names none.")
    duckling_url: str = Field("", description="Duckling server for entity values (empty: in-process).")

    # An OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, Ollama, gateways).
    llm_base_url: str = Field(
        "", description="Chat-completions base URL, e.g. http://host:8000/v1 (empty: OpenAI)."
    )
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key of the LLM server (empty: none sent).")
    llm_model: str = Field("", description="Model name sent to the LLM server; empty: no LLM configured.")
    llm_concurrency: int = Field(4, ge=1, le=64, description="LLM requests in flight at once in a batch.")

    timezone: str = Field("UTC", description="Timezone used when a pipeline's timezone parameter is empty.")

    # Retrain SLU (retrain_slu, evaluate_slu, `skit-pipelines slu init`): project repositories and forges.
    slu_repo_base: str = Field(
        "",
        description="Where SLU project repos live: a URL prefix (https GitLab group) or a folder "
        "(default: <home>/slu-repos); a repo_name that is a full URL or path is used as is.",
    )
    git_token: SecretStr = Field(
        SecretStr(""),
        description="HTTPS token for cloning and pushing SLU project repos (else a forge token).",
    )
    gitlab_url: str = Field(
        "", description="GitLab base URL for merge requests (default: the repo's host, when it is GitLab)."
    )
    gitlab_token: SecretStr = Field(
        SecretStr(""), description="GitLab token (PRIVATE-TOKEN) for merge requests."
    )
    github_url: str = Field(
        "", description="GitHub API URL for pull requests (default: the repo's host, when it is GitHub)."
    )
    github_token: SecretStr = Field(SecretStr(""), description="GitHub token for pull requests.")
    dvc_executable: str = Field(
        "", description="The dvc program (default: .venv-dvc next to the package checkout, else dvc on PATH)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r} (expected an IANA name such as 'Asia/Kolkata')"
            ) from exc
        return value

    # Derived defaults: computed from ``home`` so that SKIT_HOME moves everything at once.
    @property
    def demo_warehouse_url(self) -> str:
        """Where ``skit-pipelines demo-data`` writes: never the configured warehouse, which may be real."""
        return f"sqlite:///{(self.home / 'demo-warehouse.db').as_posix()}"

    @property
    def effective_warehouse_url(self) -> str:
        return self.warehouse_url or self.demo_warehouse_url

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'skit.db').as_posix()}"

    @property
    def effective_artifact_root(self) -> str:
        return self.artifact_root or str((self.home / "artifacts").resolve())

    @property
    def effective_slu_repo_base(self) -> str:
        return self.slu_repo_base or str((self.home / "slu-repos").resolve())

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def runner_backend(self) -> str:
        return "kubeflow" if self.kfp_host else "local"

    @property
    def secret_paths(self) -> tuple[Path, ...]:
        """The API's state folder (``ApiSettings.state_dir``: the JWT secret) and the SQLite run database:
        never read nor written by a pipeline, whatever the read policy."""
        found = [self.home / "api"]
        database = self.effective_database_url
        if database.startswith("sqlite:///"):
            found.append(Path(database[len("sqlite:///") :]))
        return tuple(found)

    def runtime(self) -> RuntimeConfig:
        """What an entry point hands to :func:`skit_pipelines.runtime.configure` (see that module)."""
        return RuntimeConfig(
            artifact_root=self.effective_artifact_root,
            s3_endpoint_url=self.s3_endpoint_url,
            s3_region=self.s3_region,
            timezone=self.timezone,
            secret_paths=self.secret_paths,
            database_url=self.effective_database_url,
        )

    def llm(self) -> LLMEndpoint:
        """The configured chat-completions endpoint (``.configured`` is False when no LLM is set up)."""
        return LLMEndpoint(
            model=self.llm_model,
            base_url=self.llm_base_url,
            api_key=self.llm_api_key.get_secret_value(),
            concurrency=self.llm_concurrency,
        )

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, effective value with secrets masked, description) for ``skit-pipelines config``."""
        effective: dict[str, Any] = {
            "warehouse_url": self.effective_warehouse_url,
            "database_url": self.effective_database_url,
            "artifact_root": self.effective_artifact_root,
            "slu_repo_base": self.effective_slu_repo_base,
        }
        return describe_settings(self, effective)


def describe_settings(
    settings: BaseSettings, effective: dict[str, Any] | None = None, skip: frozenset[str] = frozenset()
) -> list[tuple[str, str, str]]:
    """(``SKIT_NAME``, value with secrets and URL passwords masked, description) rows of a settings class.

    Shared by the core settings and the API's own settings, so that ``skit-pipelines config`` shows both
    the same way and never prints a secret.
    """
    rows = []
    for name, field in type(settings).model_fields.items():
        if name in skip:
            continue
        value = (effective or {}).get(name, getattr(settings, name))
        if isinstance(value, SecretStr):
            shown = "********" if value.get_secret_value() else "(not set)"
        else:
            shown = mask_url_password(str(value)) if value != "" else "(not set)"
        rows.append((f"SKIT_{name.upper()}", shown, field.description or ""))
    return rows


def mask_url_password(value: str) -> str:
    """Hide the password of a URL such as ``postgresql://user:pw@host/db``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":********@")
        return urlunsplit(parts._replace(netloc=netloc))
    return value


# SKIT_ names that are not settings: set by the product for its own child processes (the run folder, the read
# policy of API runs) or read by the test suite only; the unknown-variable warning leaves them alone.
INTERNAL_VARIABLES = frozenset(
    {"SKIT_RUN_DIR", "SKIT_READ_CONFINED", "SKIT_READ_ALLOWED", "SKIT_TEST_POSTGRES_URL"}
)


def setting_variables(*classes: type[BaseSettings]) -> set[str]:
    """The ``SKIT_*`` names the given settings classes read."""
    return {f"SKIT_{name.upper()}" for cls in classes for name in cls.model_fields}


def unknown_variables(
    known: Iterable[str], environ: Mapping[str, str], env_file: Path | None = Path(".env")
) -> list[str]:
    """One warning per ``SKIT_*`` name in the environment or ``.env`` that no setting reads.

    Why: settings ignore unknown names (``extra="ignore"``, so that one ``.env`` can serve several tools),
    which made ``SKIT_SLAK_TOKEN=...`` a silent no-op. The warning names the closest real setting.
    """
    known_names = set(known) | INTERNAL_VARIABLES
    sources: list[tuple[str, Iterable[str]]] = [("the environment", environ)]
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        sources.append((str(env_file), dotenv_values(env_file).keys()))
    warnings = []
    for where, names in sources:
        for name in sorted(names):
            upper = name.upper()
            if not upper.startswith("SKIT_") or upper in known_names:
                continue
            close = difflib.get_close_matches(upper, sorted(known_names - INTERNAL_VARIABLES), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            warnings.append(f"{name} in {where} is not a setting and is ignored{hint}")
    return warnings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once.

    Called by entry points only (CLI commands, the API, component bodies, the runner factory; a test keeps
    this true): everything below takes the values it needs as parameters, or from
    :mod:`skit_pipelines.runtime`. Tests change settings through the ``settings_env`` fixture, which clears
    this cache.
    """
    return Settings()
