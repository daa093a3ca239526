"""SLU project repositories for Retrain SLU (issue 13): pure computation, no git, DVC, HTTP or settings.

- ``layout``: where datasets, models, metrics, ``slu.yaml`` and ``data.dvc`` live in a project repository.
- ``project_config``: ``slu.yaml``, the training config versioned with the data, parsed with clear errors.
- ``dataset_prep``: new annotations + the previous dataset -> the train and test sets (spec 7.3 d, g, i);
  its steps are in ``dataset_steps`` (one function per rule) and its counts in ``prep_report``
  (:class:`~skit_pipelines.slu.prep_report.PreparationReport`, for the log and the commit message).
- ``comparison``: the retrained model against production, as CSV, a merge-request description and HTML.

The git/DVC/forge operations and the jobs that read and write files live at the edge, not here.
"""
