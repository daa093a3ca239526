"""Intent classifier on any transformers checkpoint: train, archive, predict (plain Python, no kfp).

- ``checkpoint``: load a checkpoint offline (local directory or HF cache) with clear errors; pick the device.
- ``inference``: tokenise once, length-sorted/grouped padded batches, logits.
- ``train``: fine-tune (validation, early stopping, best-epoch selection only when asked for).
- ``archive``: the model archive (save_pretrained + labels.json + metadata.json): write, pack, extract, read.
- ``predict``: ``intent_x``, its confidence and the top-k alternatives for every row.

Fetching datasets and archives from the artifact store and uploading results is the job layer's:
:mod:`skit_pipelines.jobs.train_model`, :mod:`~skit_pipelines.jobs.predict`,
:mod:`~skit_pipelines.jobs.model_archive`.
"""
