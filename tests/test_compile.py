"""Every registered pipeline compiles to YAML that kfp loads back with the same inputs and defaults."""

import inspect
from pathlib import Path

import pytest
import yaml
from kfp import components

from skit_pipelines.compiler import compile_all, compile_pipeline
from skit_pipelines.pipelines import PIPELINES, UnknownPipelineError, get_pipeline
from skit_pipelines.pipelines.parameters import pipeline_parameters
from tests.conftest import SettingsEnv

KFP_TYPES = {str: "String", int: "Integer", float: "Float", bool: "Boolean"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("build")
    paths = compile_all(out)
    return {path.stem: path for path in paths}


def test_one_yaml_per_pipeline(compiled: dict[str, Path]) -> None:
    assert set(compiled) == set(PIPELINES)
    for path in compiled.values():
        assert not list(path.parent.glob(".*.yaml")), "temp files left behind"


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_loaded_inputs_match_the_signature(name: str, compiled: dict[str, Path]) -> None:
    loaded = components.load_component_from_file(str(compiled[name]))
    signature = inspect.signature(get_pipeline(name).pipeline_func)
    inputs = loaded.component_spec.inputs or {}
    assert set(inputs) == set(signature.parameters)  # YAML sorts the keys
    for param_name, param in signature.parameters.items():
        spec = inputs[param_name]
        assert (
            spec.type
            == KFP_TYPES[
                param.annotation if not isinstance(param.annotation, str) else eval(param.annotation)
            ]
        )
        if param.default is inspect.Parameter.empty:
            assert not spec.optional
        else:
            assert spec.default == param.default
    # The description and per-parameter docs survive compilation (the API and `describe` show them).
    # kfp's loader drops them, so read the YAML itself.
    spec = yaml.safe_load(compiled[name].read_text())
    documented = {
        k: v.get("description", "") for k, v in spec["root"]["inputDefinitions"]["parameters"].items()
    }
    assert documented == {p.name: p.description for p in pipeline_parameters(get_pipeline(name))}
    assert all(documented.values()), "every parameter is documented"


def test_components_run_on_our_image_without_pip_installs(compiled: dict[str, Path]) -> None:
    text = compiled["fetch_calls_pipeline"].read_text()
    assert "image: skit-pipelines:" in text
    assert "pip install" not in text


def test_unknown_pipeline_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnknownPipelineError, match="fetch_calls_pipeline"):
        compile_pipeline("fetch_call", tmp_path)


@pytest.mark.parametrize("name", ["fetch_calls_pipeline", "fetch_n_tag_calls"])
def test_the_sample_step_gets_every_input_from_the_pipeline_parameter_of_its_name(
    name: str, compiled: dict[str, Path]
) -> None:
    """component_arguments() passes the pipeline's parameters on by name: none dropped, none renamed."""
    from skit_pipelines.components.fetch_calls import fetch_calls

    spec = yaml.safe_load(compiled[name].read_text())
    wired = spec["root"]["dag"]["tasks"]["fetch-calls"]["inputs"]["parameters"]
    inputs = {p.name for p in pipeline_parameters(fetch_calls)}
    assert wired == {input_name: {"componentInputParameter": input_name} for input_name in inputs}


def test_the_image_is_read_when_compiling_not_at_import(tmp_path: Path, settings_env: SettingsEnv) -> None:
    """SKIT_IMAGE set after the components were imported still reaches every step of the compiled YAML."""
    from typer.testing import CliRunner

    import skit_pipelines.components  # noqa: F401  (imported before the setting changes)
    from skit_pipelines.cli import app

    settings_env(SKIT_IMAGE="registry.example.com/skit-pipelines:test-42")
    result = CliRunner().invoke(app, ["compile", "fetch_calls_pipeline", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((tmp_path / "fetch_calls_pipeline.yaml").read_text())
    images = {name: e["container"]["image"] for name, e in spec["deploymentSpec"]["executors"].items()}
    assert len(images) >= 2
    assert set(images.values()) == {"registry.example.com/skit-pipelines:test-42"}
