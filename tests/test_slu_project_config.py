"""slu.yaml: defaults from the trainer, clear errors naming the file and field, a text round trip."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skit_pipelines.components.train_intent_model import train_intent_model
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.slu.project_config import (
    ProjectConfigError,
    SluProjectConfig,
    dump_project_config,
    parse_project_config,
)


def component_defaults() -> dict[str, object]:
    """The defaults of the train_intent_model component: the public contract slu.yaml follows."""
    signature = inspect.signature(train_intent_model.python_func)
    return {name: p.default for name, p in signature.parameters.items()}


@pytest.mark.parametrize("text", [None, "", "   \n", "# only a comment\n"])
def test_no_file_or_an_empty_one_means_every_default(text: str | None) -> None:
    assert parse_project_config(text) == SluProjectConfig()


def test_defaults_and_names_are_the_trainers() -> None:
    arguments = SluProjectConfig().trainer_arguments()
    defaults = component_defaults()
    assert set(arguments) <= set(defaults), set(arguments) - set(defaults)
    assert arguments == {name: defaults[name] for name in arguments}
    assert "epochs" not in arguments and arguments["num_train_epochs"] == 10


def test_a_project_file_sets_what_it_names() -> None:
    config = parse_project_config(
        "model_name: /models/minilm\nepochs: 3\nlearning_rate: 4e-5\nuse_state: true\nseed: 7\n"
    )
    assert (config.model_name, config.epochs, config.use_state, config.seed) == ("/models/minilm", 3, True, 7)
    assert config.learning_rate == pytest.approx(4e-5)  # YAML 1.1 reads 4e-5 as text: still a number here
    assert config.trainer_arguments()["num_train_epochs"] == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "epoch: 3\n",
            "my-bot/slu.yaml: unknown field 'epoch' (did you mean 'epochs'?); known fields: model_name",
        ),
        (
            "epochs: 0\n",
            "my-bot/slu.yaml: field 'epochs': input should be greater than or equal to 1 (got 0)",
        ),
        ("epochs: true\n", "my-bot/slu.yaml: field 'epochs': expected a number, got a boolean"),
        ("batch_size: many\n", "my-bot/slu.yaml: field 'batch_size': input should be a valid integer"),
        ("learning_rate: -1\n", "my-bot/slu.yaml: field 'learning_rate': input should be greater than 0"),
        ("validation_split: 1\n", "field 'validation_split': input should be less than 1"),
        ("use_early_stopping: true\n", "my-bot/slu.yaml: use_early_stopping needs validation rows"),
        ("- epochs\n", "my-bot/slu.yaml: expected a mapping of field names to values"),
        ("epochs: [\n", "my-bot/slu.yaml: not valid YAML at line 2, column 1"),
    ],
)
def test_errors_name_the_file_the_field_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ProjectConfigError) as info:
        parse_project_config(text, source="my-bot/slu.yaml")
    assert message in str(info.value)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ProjectConfigError) as info:
        parse_project_config("epochs: 0\nbatch_size: 0\n")
    assert str(info.value).count("\n") == 1
    assert isinstance(info.value, SkitPipelinesError) and isinstance(info.value, ValueError)


def test_overrides_are_validated() -> None:
    config = parse_project_config("epochs: 3\n")
    assert config.overridden(epochs=5).epochs == 5
    with pytest.raises(ProjectConfigError, match="overrides: field 'epochs'"):
        config.overridden(epochs=0)


def test_the_dumped_file_names_every_field_under_a_header() -> None:
    text = dump_project_config(SluProjectConfig(epochs=4))
    assert text.startswith("# Training config of this SLU project")
    assert "\nepochs: 4\n" in text and "\nlearning_rate: 4.0e-05\n" in text
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith("#")] == list(
        SluProjectConfig.model_fields
    )


@settings(max_examples=50, deadline=None)
@given(
    model_name=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(
        str.strip
    ),
    epochs=st.integers(1, 1000),
    learning_rate=st.floats(1e-9, 1.0, allow_nan=False),
    max_seq_length=st.integers(8, 4096),
    use_state=st.booleans(),
    validation_split=st.floats(0.0, 0.99),
)
def test_dump_then_parse_gives_the_same_config(
    model_name: str,
    epochs: int,
    learning_rate: float,
    max_seq_length: int,
    use_state: bool,
    validation_split: float,
) -> None:
    config = SluProjectConfig(
        model_name=model_name,
        epochs=epochs,
        learning_rate=learning_rate,
        max_seq_length=max_seq_length,
        use_state=use_state,
        validation_split=validation_split,
    )
    assert parse_project_config(dump_project_config(config)) == config


def test_the_docs_table_lists_every_field_with_its_default() -> None:
    """docs/slu-projects.md is what users read: its slu.yaml table must not drift from the model."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "slu-projects.md").read_text(encoding="utf-8")
    rows = {}
    for line in docs.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[1].startswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    defaults = SluProjectConfig()
    assert set(rows) == set(SluProjectConfig.model_fields)
    for name, text in rows.items():
        assert parse_project_config(f"{name}: {text}\n") == defaults, name


@pytest.mark.parametrize("escaped", ["xlm\\x85roberta", "model\\nname", "a\\0b"])
def test_a_model_name_with_control_characters_is_refused(escaped: str) -> None:
    """PyYAML writes U+0085 so that it reads back as a space: such a name could not survive slu.yaml."""
    with pytest.raises(SkitPipelinesError, match="model_name.*without control characters, got U\\+00"):
        parse_project_config(f'model_name: "{escaped}"\n')
