"""Stores: the tables our runs write rows to (``intent_metrics``, ``entity_metrics``), an edge like storage.

Why a package of its own: writing SQL rows is I/O, so it does not belong in the pure ``metrics``
package; jobs compute with ``metrics`` and hand the result to a store. Each store turns an evaluation into
rows (``metric_rows``) and writes them in one transaction; the database URL is passed in by the job.
"""
