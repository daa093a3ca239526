"""kfp components: one per module, each a thin wrapper around a plain-Python function.

Every component is a lightweight ``@dsl.component`` whose body imports this package, with our image as
``base_image``, no ``pip install`` at start-up (``install_kfp_package=False``, no ``packages_to_install``):
locally the package is installed in the current environment, on a cluster the image carries it.
"""

from __future__ import annotations

import functools

from kfp import dsl

from skit_pipelines.config import get_settings

component = functools.partial(dsl.component, base_image=get_settings().image, install_kfp_package=False)
