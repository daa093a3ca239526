"""The train step's parameters travel below the component as one TrainRequest: none dropped, none renamed."""

from __future__ import annotations

import inspect

import pytest

from skit_pipelines.jobs.train_model import TrainRequest, train_request_from
from skit_pipelines.models.train import TrainConfig


def test_every_parameter_of_the_step_lands_in_the_request() -> None:
    from skit_pipelines.components.train_intent_model import train_intent_model

    signature = inspect.signature(train_intent_model.python_func)
    values = {
        name: (f"v-{name}" if isinstance(p.default, str) else p.default)
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    values["dataset_path"] = "data.csv"
    values["num_train_epochs"] = 3
    request = train_request_from(values)
    assert request.dataset_path == "data.csv" and request.config.num_train_epochs == 3
    assert request.model_type == "v-model_type" and request.storage_options == "v-storage_options"
    assert request.config.model_name == "v-model_name"  # a config field, not the request's


def test_numbers_from_text_are_coerced_to_the_fields_type() -> None:
    request = train_request_from({"dataset_path": "d.csv", "learning_rate": "0.001", "batch_size": "8"})
    assert request.config.learning_rate == 0.001 and request.config.batch_size == 8
    assert train_request_from({"dataset_path": "d.csv"}) == TrainRequest("d.csv", TrainConfig())


def test_an_unknown_parameter_is_named_not_dropped() -> None:
    with pytest.raises(TypeError, match="unknown parameter\\(s\\) epochs, lr"):
        train_request_from({"dataset_path": "d.csv", "epochs": 3, "lr": 0.1})
