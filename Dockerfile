# The component image: every kfp component of skit-pipelines runs on it (settings: SKIT_IMAGE).
# It holds the package and kfp, so steps start without any `pip install` at run time.
# No secrets are baked in: a cluster passes SKIT_* settings as environment variables or Kubernetes secrets.
#
#   docker build -t skit-pipelines:0.1.0 .                 # CPU image
#   docker build --build-arg EXTRAS=ml -t skit-pipelines:0.1.0-ml .   # + torch/transformers for training steps
FROM python:3.11-slim

ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /opt/skit-pipelines
COPY pyproject.toml README.md ./
COPY skit_pipelines ./skit_pipelines
RUN if [ -n "$EXTRAS" ]; then pip install ".[${EXTRAS}]"; else pip install .; fi \
    && python -c "import kfp, skit_pipelines; print('kfp', kfp.__version__)"

# Components are started by kfp with their own command; this default only helps `docker run -it`.
CMD ["skit-pipelines", "--help"]
