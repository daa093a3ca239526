"""The API app with the test pipelines, for tests that start it as ``uvicorn tests.api_app:app``.

(Separate from :mod:`tests.api_pipelines` so that a worker importing a test pipeline does not build an app.)
"""

from skit_pipelines.api.endpoints import create_app
from skit_pipelines.pipelines import PIPELINES
from tests.api_pipelines import TEST_PIPELINES

app = create_app(pipelines={**PIPELINES, **TEST_PIPELINES})
