"""Versioned prompt templates: shipped with the package, overridable by a file, recorded with every answer.

Why one mechanism for every LLM workflow (compliance judging, conversation generation): a stored answer is
only auditable when the exact prompt that produced it is known. A template is a small YAML file::

    name: compliance_judge
    version: "1"
    system: |
      You audit debt-collection calls ...
    user: |
      $transcript

``system`` and ``user`` are :class:`string.Template` texts (``$name`` / ``${name}``), not ``str.format``:
prompts carry JSON examples full of braces, which ``$``-placeholders leave alone. Rendering with a missing
value is an error naming it, never a prompt with a hole.

Packaged templates live in ``skit_pipelines/llm/prompts/<name>.yaml``. A user's file (``load_prompt(name,
path)``) replaces the packaged one; its ``version`` becomes ``<declared>+<first 8 hex of its sha256>``, so two
different files that both say version "1" are never stored as the same prompt.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skit_pipelines.errors import SkitPipelinesError

PACKAGE = "skit_pipelines.llm"
FOLDER = "prompts"


class PromptTemplateError(SkitPipelinesError, ValueError):
    """A prompt template that cannot be read or rendered; the message names the file and the field."""


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    system: str = ""
    user: str = Field(min_length=1)


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt: ``render(**values)`` gives the chat messages; ``version`` identifies it in stored rows."""

    name: str
    version: str
    system: str
    user: str
    source: str

    @property
    def placeholders(self) -> frozenset[str]:
        """The ``$names`` the template needs."""
        names: set[str] = set()
        for text in (self.system, self.user):
            for match in string.Template.pattern.finditer(text):
                name = match.group("named") or match.group("braced")
                if name:
                    names.add(name)
        return frozenset(names)

    def render(self, **values: object) -> list[dict[str, str]]:
        """The messages for one request: an optional system message, then the user message."""
        missing = sorted(self.placeholders - values.keys())
        if missing:
            needed = ", ".join(missing)
            raise PromptTemplateError(f"prompt {self.name!r} ({self.source}) needs a value for: {needed}")
        text = {key: str(value) for key, value in values.items()}
        messages = []
        try:
            if self.system.strip():
                messages.append({"role": "system", "content": string.Template(self.system).substitute(text)})
            messages.append({"role": "user", "content": string.Template(self.user).substitute(text)})
        except ValueError as exc:  # a lone "$" (e.g. "$50" in an example): "$$" writes a dollar sign
            raise PromptTemplateError(
                f"prompt {self.name!r} ({self.source}): {exc}; write $$ for a literal dollar sign"
            ) from None
        return messages


def _parse(text: str, source: str) -> _PromptFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptTemplateError(f"prompt template {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PromptTemplateError(f"prompt template {source} must map name, version, system, user")
    try:
        return _PromptFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise PromptTemplateError(f"prompt template {source}: {problems}") from None


def packaged_prompt(name: str) -> PromptTemplate:
    """The template shipped with the package under ``name``."""
    resource = resources.files(PACKAGE).joinpath(FOLDER, f"{name}.yaml")
    if not resource.is_file():
        raise PromptTemplateError(f"no packaged prompt template named {name!r}")
    parsed = _parse(resource.read_text(encoding="utf-8"), f"packaged {name}.yaml")
    if parsed.name != name:
        raise PromptTemplateError(f"packaged {name}.yaml declares name {parsed.name!r}")
    return PromptTemplate(parsed.name, parsed.version, parsed.system, parsed.user, f"packaged {name}.yaml")


def load_prompt(name: str, path: str | Path | None = None) -> PromptTemplate:
    """The packaged template ``name``, or the user's file at ``path`` in its place.

    A user's file must declare the same ``name`` (a judge prompt given to the generator is a mistake worth
    stopping); its version gets the file's content hash appended.
    """
    if not path:
        return packaged_prompt(name)
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise PromptTemplateError(f"cannot read prompt template {file}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PromptTemplateError(f"prompt template {file} is not UTF-8 text") from None
    parsed = _parse(text, str(file))
    if parsed.name != name:
        raise PromptTemplateError(f"prompt template {file} is for {parsed.name!r}, expected {name!r}")
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return PromptTemplate(parsed.name, f"{parsed.version}+{digest}", parsed.system, parsed.user, str(file))
