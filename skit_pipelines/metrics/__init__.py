"""Evaluation metrics as pure computation: frames in, numbers, tables and report bytes out.

Why pure: the same metrics serve the pipelines, the benchmarks and the tests, and are checked against
reference implementations (scikit-learn) on frames in memory. Reading datasets from the artifact store,
writing artifacts and storing metric rows is the job layer's (:mod:`skit_pipelines.jobs`) and the stores'
(:mod:`skit_pipelines.stores`); an import-linter contract in pyproject.toml keeps it that way.

- shared inputs: ``tagged`` (a tagged dataset as evaluation input, with counted oddities), ``tags`` (the
  one tag parser), ``prediction_join`` (a truth file and a prediction file joined on id), ``json_values``.
- ``intent/``: classification report, confusion matrix, kappa, alias/groups/layers (``scores``), PNG and
  HTML reports (``reports``), one evaluation end to end on a frame (``evaluation``), new vs production
  (``compare``).
- ``entity/``: the reference entity report (``report``, ``values``), span scores (``spans``), categorical
  entities (``categorical``), one evaluation on a frame (``evaluation``) and its HTML page (``html``).

``entity`` may use ``intent`` (a categorical entity report is a classification report); never the other way.
"""
