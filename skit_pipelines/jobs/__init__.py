"""Jobs: the I/O of each workflow step — read inputs, compute with the pure modules, write artifacts and rows.

Why a layer of its own: domain packages (``metrics``, ``models``, ``entities``, ``features``, the
warehouse's filters) are pure computation that tests and benchmarks call on data in memory; the
end-to-end work of a step (download → compute → upload → store) needs the artifact store, the read
policy, settings and the stores. Components stay thin: they parse their arguments and call one job.
Jobs may import the domain and the edges (``storage``, ``stores``, ``readpolicy``, ``config``); the
domain never imports a job (contracts in pyproject.toml, ``[tool.importlinter]``).

One module per step:

- ``dataset_source``: which tagged dataset an evaluation reads (a path, or Label Studio projects);
- ``intent_eval``: ``irr_from_tog`` (read → compute → report → store → summarise);
- ``entity_eval``: ``eer_from_tog``;
- ``yaml_inputs``: the alias/groups/layers YAMLs from paths, artifact URIs or URLs;
- ``compare``: model comparison of reports stored as files;
- ``model_inputs``, ``model_archive``, ``train_model``, ``predict``: the intent model steps.
"""
