"""Component ``check_tagged_dataset``: use a tagged dataset that is already downloaded (``dataset_path``)."""

from typing import NamedTuple

from skit_pipelines.components import component


@component
def check_tagged_dataset(
    dataset_path: str,
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
) -> NamedTuple("CheckTaggedDatasetOutput", [("dataset_uri", str), ("note", str)]):
    """The artifact URI of ``dataset_path`` after checking that it exists (fails fast, naming it), and a note
    naming the date parameters that do not apply to a dataset already downloaded."""
    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    settings = get_settings()  # a step is an entry point: it reads the settings, the code below takes them
    runtime.configure(settings.runtime())

    from skit_pipelines.pipeline_checks import check_step

    # the last line of defence, for a YAML submitted straight to a cluster
    check_step("irr_from_tog", locals())

    from skit_pipelines.jobs.dataset_source import given_dataset

    uri, note = given_dataset(
        dataset_path,
        start_date=start_date,
        end_date=end_date,
        start_date_offset=start_date_offset,
        end_date_offset=end_date_offset,
    )
    print(f"tagged dataset: {uri}" + (f"\n{note}" if note else ""))
    return (uri, note)
