"""Synthetic debt-collection conversations (``generate_and_tag_conversations``, issue 15, spec 8.2).

Pure modules: :mod:`.model` (turns, parsing an answer, validation, identity, the text annotators see),
:mod:`.template_generator` (the deterministic offline generator built from the demo dialogue model) and
:mod:`.request` (the pipeline's parameters, checked once). The LLM call, the artifacts, the tables and the
Label Studio upload are the job's (:mod:`skit_pipelines.jobs.generate_conversations`).
"""
