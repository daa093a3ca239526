"""kfp components: one per module, each a thin wrapper around a plain-Python function.

Every component is a lightweight ``@dsl.component`` whose body imports this package, with our image as
``base_image``, no ``pip install`` at start-up (``install_kfp_package=False``, no ``packages_to_install``):
locally the package is installed in the current environment, on a cluster the image carries it.

The image is *not* read from the settings here: importing a module must read no settings (pipelines are
built when their module is imported, long before anyone compiles them). Components carry
:data:`DEFAULT_IMAGE`; whoever compiles or submits a pipeline sets the image it read from ``SKIT_IMAGE``
(:func:`skit_pipelines.compiler.compile_to_file`).

Component bodies are entry points: they read the settings (``get_settings()``), hand what storage, the read
policy and the timezone default need to :mod:`skit_pipelines.runtime`, and pass the rest down as
parameters.
"""

from __future__ import annotations

import functools

from kfp import dsl

from skit_pipelines import __version__

DEFAULT_IMAGE = f"skit-pipelines:{__version__}"
"""The image components are built with; replaced by ``SKIT_IMAGE`` when a pipeline is compiled."""

component = functools.partial(dsl.component, base_image=DEFAULT_IMAGE, install_kfp_package=False)
