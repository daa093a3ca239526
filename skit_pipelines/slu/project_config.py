"""``slu.yaml``: how an SLU project's intent model is trained, versioned in the project repository.

Why the training config lives with the data: a model is the product of a dataset *and* the knobs it was
trained with. Kept in the same repository (and so in the same merge request), a reviewer sees both change
together, and any past commit can be retrained exactly. The reference kept these knobs in the ``slu`` CLI
of another repository and dropped ``epochs`` on the way (spec 14 item 22).

Fields and defaults follow this product's trainer (``train_intent_model``, spec 6.2); an absent file or
an empty one means every default. Unknown keys are errors (a typo such as ``epoch: 3`` must not be
ignored), and every error names the file, the field and what was expected.

This module works on text: the job reads and writes the file, so this stays testable without a checkout.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skit_pipelines.errors import SkitPipelinesError

__all__ = [
    "ProjectConfigError",
    "SluProjectConfig",
    "dump_project_config",
    "parse_project_config",
]

HEADER = (
    "# Training config of this SLU project (skit-pipelines, docs/slu-projects.md).\n"
    "# Versioned with the data: change it in a merge request like any dataset change.\n"
)


class ProjectConfigError(SkitPipelinesError, ValueError):
    """``slu.yaml`` is not valid YAML or has a wrong field name, type or range; the message says which."""


class SluProjectConfig(BaseModel):
    """The fields of ``slu.yaml`` (all optional; the defaults are the trainer's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str = Field(
        "xlm-roberta-base",
        min_length=1,
        description="checkpoint to fine-tune: a hub name or a local directory",
    )
    epochs: int = Field(10, ge=1, description="training epochs (num_train_epochs of the trainer)")
    learning_rate: float = Field(4e-5, gt=0, description="AdamW learning rate")
    max_seq_length: int = Field(128, ge=8, description="tokens per example; longer inputs are cut")
    batch_size: int = Field(16, ge=1, description="examples per training step")
    seed: int = Field(42, description="seed of the train/test split and of training")
    use_state: bool = Field(False, description="append the bot's dialogue state to the model text")
    use_early_stopping: bool = Field(False, description="stop when validation loss stops improving")
    early_stopping_patience: int = Field(3, ge=1, description="epochs without improvement before stopping")
    early_stopping_delta: float = Field(0.0, ge=0, description="smallest validation-loss change that counts")
    validation_split: float = Field(
        0.0, ge=0, lt=1, description="share of train.csv held out for validation (0: none)"
    )
    freeze_embeddings: bool = Field(False, description="keep the embedding layer's weights fixed")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: Any) -> Any:
        """``epochs: true`` is a mistake, not 1 (pydantic would otherwise accept a bool for a number)."""
        field = cls.model_fields[info.field_name]
        if isinstance(value, bool) and field.annotation in ("int", "float", int, float):
            raise ValueError("expected a number, got a boolean")
        return value

    @field_validator("model_name")
    @classmethod
    def _printable_model_name(cls, value: str) -> str:
        """A hub name or a path never holds control characters; YAML would not keep some of them either."""
        bad = next((char for char in value if unicodedata.category(char) == "Cc"), None)
        if bad is not None:
            code = f"U+{ord(bad):04X}"
            raise ValueError(f"expected a hub name or a path without control characters, got {code}")
        return value

    @model_validator(mode="after")
    def _early_stopping_needs_validation(self) -> SluProjectConfig:
        """Early stopping without validation rows could only be meaningless (the trainer refuses it too)."""
        if self.use_early_stopping and self.validation_split <= 0:
            raise ValueError(
                "use_early_stopping needs validation rows: set validation_split (e.g. 0.1) as well"
            )
        return self

    def trainer_arguments(self) -> dict[str, Any]:
        """Keyword arguments of this product's trainer (``train_intent_model`` / its job), by their names."""
        values = self.model_dump()
        values["num_train_epochs"] = values.pop("epochs")
        return values

    def overridden(self, **changes: Any) -> SluProjectConfig:
        """A copy with ``changes`` applied and validated (e.g. a pipeline's explicit ``epochs``)."""
        return _validate({**self.model_dump(), **changes}, source="overrides")


def _expected(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _describe(errors: list[dict[str, Any]], source: str) -> str:
    known = list(SluProjectConfig.model_fields)
    lines = []
    for error in errors:
        field = ".".join(str(part) for part in error.get("loc", ()))
        if not field:  # a rule across fields: the message names them
            lines.append(f"{source}: {_expected(error)}")
            continue
        if error.get("type") == "extra_forbidden":
            close = difflib.get_close_matches(field, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"{source}: unknown field {field!r}{hint}; known fields: {', '.join(known)}")
            continue
        got = error.get("input")
        lines.append(f"{source}: field {field!r}: {_expected(error)} (got {got!r})")
    return "\n".join(lines)


def _validate(data: dict[str, Any], source: str) -> SluProjectConfig:
    try:
        return SluProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ProjectConfigError(_describe(exc.errors(), source)) from None


def parse_project_config(text: str | None, source: str = "slu.yaml") -> SluProjectConfig:
    """The config in ``text`` (the content of ``slu.yaml``); None or blank text means every default.

    ``source`` names the file in error messages (e.g. ``"my-bot@master:slu.yaml"``).
    """
    if text is None or not text.strip():
        return SluProjectConfig()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ProjectConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    if data is None:
        return SluProjectConfig()
    if not isinstance(data, dict):
        raise ProjectConfigError(
            f"{source}: expected a mapping of field names to values (e.g. 'epochs: 10'), "
            f"got a {type(data).__name__}"
        )
    return _validate({str(key): value for key, value in data.items()}, source)


def dump_project_config(config: SluProjectConfig) -> str:
    """``slu.yaml`` text for ``config``: a short header comment, then every field in declaration order.

    Every field is written (not only the changed ones) so that the file documents the defaults it ran
    with, and a later change of a default in the product does not silently change an old project.
    """
    body = yaml.safe_dump(config.model_dump(), sort_keys=False, allow_unicode=True, default_flow_style=False)
    return HEADER + body
