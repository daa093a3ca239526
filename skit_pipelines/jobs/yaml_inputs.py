"""The alias, groups and layers YAMLs of an intent evaluation: fetched from anywhere, validated by shape.

Why: the reference downloaded them from one hard-coded private GitHub repository and turned every failure
(a typo in the path, a 404, a bad token, broken YAML) into "no YAML", so a report silently lost its
breakdowns (spec 14 items 2 and 19). Here a path may be a local file, an artifact URI (``s3://``,
``file://``, through :mod:`skit_pipelines.storage`) or an ``http(s)`` URL (e.g. a raw GitHub URL), and
every failure is an error that names the parameter. httpx (already a dependency) fetches URLs, with
tenacity retrying connection errors and 5xx answers a few times; PyYAML's ``safe_load`` parses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx
import yaml
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from skit_pipelines import storage
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.metrics.intent.scores import LayersSpec
from skit_pipelines.netaddr import pinned_target
from skit_pipelines.read_errors import content_free_reason
from skit_pipelines.readpolicy import check_readable, url_address

__all__ = ["InvalidYamlInputError", "load_alias", "load_groups", "load_layers", "read_yaml_input"]

TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 5
TRUE_SIDE_KEYS = ("intent_x", "true")  # eevee names the true side intent_x (spec 5.1)
PRED_SIDE_KEYS = ("intent_y", "predicted")
RAW_GITHUB_HINT = "https://raw.githubusercontent.com/<owner>/<repo>/<branch>/<path>"


class InvalidYamlInputError(SkitPipelinesError, ValueError):
    """A YAML input could not be read or has the wrong shape; the message names the parameter."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500


@retry(
    retry=retry_if_exception(_retryable),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _get(url: str, headers: Mapping[str, str]) -> str:
    """GET ``url`` and follow up to ``MAX_REDIRECTS`` redirects, each hop checked and, when confined, pinned.

    Why by hand rather than httpx's ``follow_redirects``: every hop must pass the read policy and connect to
    the address the policy checked (:func:`~skit_pipelines.readpolicy.url_address`), so that neither a
    redirect nor a changed DNS answer can send a confined run to a private address. Headers given for the
    first host (tokens) are not sent to another host.
    """
    first_host = httpx.URL(url).host
    for _ in range(MAX_REDIRECTS + 1):
        check_readable(url, urls=True)
        address = url_address(url)
        target = httpx.URL(url)
        sent = dict(headers) if target.host == first_host else {}
        extensions: dict[str, Any] = {}
        if address is not None:
            target, pinned_headers, extensions = pinned_target(target, address)
            sent |= pinned_headers
        with httpx.Client(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=address is None
        ) as client:
            response = client.get(target, headers=sent, extensions=extensions)
        if not response.is_redirect:
            response.raise_for_status()
            return response.text
        url = str(httpx.URL(url).join(response.headers["location"]))
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=response.request)


def _read_text(path: str, parameter: str, headers: Mapping[str, str]) -> str:
    check_readable(path, parameter=parameter, urls=True)
    lowered = path.lower()
    if lowered.startswith(("http://", "https://")):
        try:
            return _get(path, headers)
        except httpx.HTTPStatusError as exc:
            raise InvalidYamlInputError(
                f"{parameter}: GET {path} answered HTTP {exc.response.status_code}"
            ) from exc
        except httpx.HTTPError as exc:
            raise InvalidYamlInputError(
                f"{parameter}: cannot fetch {path}: {type(exc).__name__}: {exc}"
            ) from exc
    is_uri = "://" in path
    if not is_uri and not os.path.exists(os.path.expanduser(path)):
        raise InvalidYamlInputError(
            f"{parameter}: {path!r} is not a local file. Give a local path, an artifact URI (s3://...) or "
            f"an http(s) URL; a file of a GitHub repository is read from {RAW_GITHUB_HINT}"
        )
    try:
        return storage.read_text(path)
    except (storage.ArtifactNotFoundError, ValueError, OSError) as exc:
        # from None: the cause's text may quote the file (a decode error names the byte)
        raise InvalidYamlInputError(f"{parameter}: cannot read {path}: {content_free_reason(exc)}") from None


def read_yaml_input(path: str, parameter: str, *, headers: Mapping[str, str] | None = None) -> Any:
    """The parsed YAML at ``path`` (local path, artifact URI or http(s) URL); None when ``path`` is empty."""
    path = (path or "").strip()
    if not path:
        return None
    text = _read_text(path, parameter, headers or {})
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # PyYAML's message quotes the offending lines: say where, never what (from None drops the cause)
        raise InvalidYamlInputError(
            f"{parameter}: {path} is not valid YAML: {content_free_reason(exc)}"
        ) from None


def _source(parameter: str, path: str) -> str:
    """How shape errors name the input: the parameter and the location as the caller gave it."""
    return f"{parameter} ({path.strip()})"


def _label_lists(data: Any, source: str, what: str) -> dict[str, list[str]]:
    """``{name: [label, ...]}`` with text labels; a single label may be given without a list.

    Errors name entries by position, never by the file's keys or values: the file may not be the YAML the
    caller meant (issue 11.1), and its content must not reach the run's error.
    """
    if not isinstance(data, Mapping) or not data:
        raise InvalidYamlInputError(
            f"{source}: expected a mapping of {what} name to a list of intents, got {type(data).__name__}"
        )
    out: dict[str, list[str]] = {}
    for position, (name, members) in enumerate(data.items(), start=1):
        if isinstance(members, (str, int, float)) and not isinstance(members, bool):
            members = [members]
        if not isinstance(members, list) or any(m is None or isinstance(m, (dict, list)) for m in members):
            raise InvalidYamlInputError(
                f"{source}: {what} entry {position} of {len(data)} must list intents (plain strings), "
                f"got a {type(members).__name__}"
            )
        out[str(name)] = [str(member) for member in members]
    return out


def load_alias(
    path: str,
    parameter: str = "eevee_intent_alias_yaml_github_path",
    *,
    headers: Mapping[str, str] | None = None,
) -> dict[str, list[str]] | None:
    """Alias YAML ``{alias: [intent, ...]}``; an intent listed under two aliases is an error."""
    data = read_yaml_input(path, parameter, headers=headers)
    if data is None:
        return None
    source = _source(parameter, path)
    alias = _label_lists(data, source, "alias")
    owner: dict[str, int] = {}
    for position, members in enumerate(alias.values(), start=1):
        for index, member in enumerate(members, start=1):
            if owner.setdefault(member, position) != position:
                raise InvalidYamlInputError(
                    f"{source}: intent {index} of alias entry {position} is already listed under alias "
                    f"entry {owner[member]}: an intent belongs to one alias"
                )
    return alias


def load_groups(
    path: str,
    parameter: str = "eevee_intent_groups_yaml_github_path",
    *,
    headers: Mapping[str, str] | None = None,
) -> dict[str, list[str]] | None:
    """Groups YAML ``{group: [intent, ...]}`` (an intent may be in several groups)."""
    data = read_yaml_input(path, parameter, headers=headers)
    return None if data is None else _label_lists(data, _source(parameter, path), "group")


def load_layers(
    path: str,
    parameter: str = "eevee_intent_layers_yaml_github_path",
    *,
    headers: Mapping[str, str] | None = None,
) -> LayersSpec | None:
    """Layers YAML ``{intent_x: {layer: [intents]}, intent_y: {layer: [intents]}}`` (x = true side,
    y = predicted side, as in eevee; ``true``/``predicted`` are accepted too)."""
    data = read_yaml_input(path, parameter, headers=headers)
    if data is None:
        return None
    source = _source(parameter, path)
    if not isinstance(data, Mapping):
        raise InvalidYamlInputError(
            f"{source}: expected a mapping with keys intent_x (true) and intent_y "
            f"(predicted), got {type(data).__name__}"
        )
    true_key = next((k for k in TRUE_SIDE_KEYS if k in data), None)
    pred_key = next((k for k in PRED_SIDE_KEYS if k in data), None)
    if true_key is None or pred_key is None:
        raise InvalidYamlInputError(
            f"{source}: expected keys intent_x (true-side layers) and intent_y (predicted layers), "
            f"got {len(data)} other key(s)"
        )
    return LayersSpec(
        true_layers=_label_lists(data[true_key], source, "true layer"),
        pred_layers=_label_lists(data[pred_key], source, "predicted layer"),
    )
