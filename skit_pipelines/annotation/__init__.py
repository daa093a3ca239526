"""The annotation loop on Label Studio, over plain HTTP.

Modules (plain Python; the components in ``skit_pipelines/components`` are thin wrappers):

- ``client``: :class:`~skit_pipelines.annotation.client.LabelStudioClient` (legacy tokens and personal access
  tokens, retries with back-off, errors that name the URL and the project; projects, import, task listing,
  annotations, predictions, direct and snapshot exports).
- ``label_config`` + ``label_configs/*.xml``: the turn-level and call-level label configs we ship.
- ``tasks``: untagged rows → Label Studio tasks (every column kept under ``raw``) with the production
  prediction as a pre-annotation; call-level records (spec 2.2).
- ``upload``: ``tag_calls`` — idempotent, batched upload with a per-project summary.
- ``flatten`` + ``download``: ``fetch_tagged_dataset`` — export → the tagged CSV (spec 2.3).
- ``entity_dataset``: the tagged CSV + ``truth_entities`` / ``predicted_entities`` (spec 4.8).
- ``local_server``: start a local Label Studio from ``.venv-labelstudio`` (``make labelstudio``, tests).
- ``errors``: the exceptions above raise.
"""
