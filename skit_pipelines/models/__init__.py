"""Intent classifier on any transformers checkpoint: train, archive, predict (plain Python, no kfp).

- ``checkpoint``: load a checkpoint offline (local directory or HF cache) with clear errors; pick the device.
- ``inference``: tokenise once, length-sorted/grouped padded batches, logits.
- ``train``: fine-tune (validation, early stopping, best-epoch selection only when asked for).
- ``archive``: the model archive (save_pretrained + labels.json + metadata.json), upload and robust opening.
- ``predict``: ``intent_x``, its confidence and the top-k alternatives for every row.
- ``jobs``: the same from artifact URIs, for the ``train_intent_model`` and ``predict_intents`` components.
"""
