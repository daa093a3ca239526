"""Component ``check_tagged_dataset``: use a tagged dataset that is already downloaded (``dataset_path``)."""

from skit_pipelines.components import component


@component
def check_tagged_dataset(dataset_path: str) -> str:
    """Return the artifact URI of ``dataset_path`` after checking that it exists (fails fast, naming it)."""
    from skit_pipelines import storage

    uri = dataset_path.strip()
    if not storage.exists(uri):
        raise FileNotFoundError(
            f"dataset_path {uri!r} does not exist: expected a tagged CSV (local path, file:// or s3:// URI)"
        )
    print(f"tagged dataset: {uri}")
    return uri
