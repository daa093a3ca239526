"""Parameter meanings are written once (pipelines/parameter_docs.py) and every face shows that text."""

import pytest

from skit_pipelines.pipelines import PIPELINES
from skit_pipelines.pipelines.parameter_docs import (
    OVERRIDES,
    PARAMETER_DOCS,
    UndocumentedParameterError,
    parameter_doc,
    with_parameter_docs,
)
from skit_pipelines.pipelines.parameters import pipeline_parameters
from tests.cli_runner import cli


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_parameter_of_every_pipeline_is_described_by_the_table(name: str) -> None:
    shown = {p.name: p.description for p in pipeline_parameters(PIPELINES[name])}
    assert shown == {parameter: parameter_doc(name, parameter) for parameter in shown}
    assert all(shown.values())


def test_overrides_are_real_differences_of_real_parameters() -> None:
    assert set(OVERRIDES) <= set(PIPELINES)
    for name, overrides in OVERRIDES.items():
        parameters = {p.name for p in pipeline_parameters(PIPELINES[name])}
        assert set(overrides) <= parameters, name
        for parameter, text in overrides.items():
            assert text != PARAMETER_DOCS.get(parameter), f"{name}.{parameter} repeats the shared text"


def test_every_shared_description_is_used() -> None:
    used = {
        p.name
        for name, pipeline in PIPELINES.items()
        for p in pipeline_parameters(pipeline)
        if p.name not in OVERRIDES.get(name, {})
    }
    assert set(PARAMETER_DOCS) == used


def test_a_parameter_missing_from_the_table_fails_at_definition() -> None:
    def new_pipeline(lang: str, not_in_the_table: int = 0) -> None:
        """Does something new."""

    with pytest.raises(UndocumentedParameterError, match="'not_in_the_table' has no description"):
        with_parameter_docs(new_pipeline)


def test_a_docstring_that_rewords_its_parameters_is_refused() -> None:
    def reworded(lang: str) -> None:
        """Does something.

        Args:
            lang: The language, in my own words.
        """

    with pytest.raises(UndocumentedParameterError, match="has an Args: section"):
        with_parameter_docs(reworded)


def test_the_docstring_gets_the_summary_and_the_tables_args() -> None:
    def call_sampler(lang: str, call_quantity: int = 5) -> None:
        """Samples calls.

        More about it.
        """

    doc = with_parameter_docs(call_sampler).__doc__
    assert doc == (
        "Samples calls.\n\nMore about it.\n\nArgs:\n"
        f"    lang: {PARAMETER_DOCS['lang']}\n"
        f"    call_quantity: {PARAMETER_DOCS['call_quantity']}\n"
    )


def test_describe_shows_the_pipelines_own_meaning() -> None:
    described = cli("describe", "train_voicebot_intent_model_xlmr")
    assert described.returncode == 0, described.stderr
    text = " ".join(described.stdout.replace("│", " ").split())
    assert OVERRIDES["train_voicebot_intent_model_xlmr"]["batch_size"] in text
    assert PARAMETER_DOCS["batch_size"] not in text
