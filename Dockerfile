# The component image: every kfp step of skit-pipelines runs on it (settings: SKIT_IMAGE).
# It holds the package with the extras the steps import, kfp, git and DVC, so steps start without any
# `pip install` at run time. No secrets are baked in: a cluster passes SKIT_* settings from a Kubernetes
# secret (SKIT_KFP_SECRET; README "Running on a Kubeflow Pipelines cluster").
#
#   make image IMAGE=registry.example.com/<team>/skit-pipelines:<version>    # or:
#   docker build -t registry.example.com/<team>/skit-pipelines:0.1.0 .
#   docker build --build-arg EXTRAS=compliance -t ...:0.1.0-cpu .          # smaller: no torch (no training)
#
# tests/test_image.py checks that this file installs what the compiled YAML expects (the package, the
# extras the steps import, DVC for retrain_slu, git); keep the install lines in the forms it reads.
FROM python:3.11-slim

ARG EXTRAS="ml,compliance"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    SKIT_DVC_EXECUTABLE=/opt/dvc/bin/dvc

# git: SLU project repositories (skit_pipelines/vcs/git.py runs the git program).
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

# DVC in its own virtualenv (its S3 plugin pins botocore versions that lag boto3; see the Makefile).
RUN python -m venv /opt/dvc && /opt/dvc/bin/pip install 'dvc[s3]>=3.50,<4'

WORKDIR /opt/skit-pipelines
COPY pyproject.toml README.md ./
COPY skit_pipelines ./skit_pipelines
RUN pip install ".[${EXTRAS}]" \
    && python -c "import kfp, kfp.kubernetes, skit_pipelines; print('kfp', kfp.__version__)"

# Components are started by kfp with their own command; this default only helps `docker run -it`.
CMD ["skit-pipelines", "--help"]
