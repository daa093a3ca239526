#!/usr/bin/env bash
# `make labelstudio`: start a local Label Studio (installed in .venv-labelstudio) and print its URL and token.
# Data lives in ${SKIT_HOME:-.skit}/labelstudio; the first start creates the admin user and its tokens.
#   LABELSTUDIO_PORT=8081 scripts/labelstudio.sh      # another port
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-labelstudio/bin/label-studio ]; then
  echo "installing Label Studio into .venv-labelstudio (~1 GB, about a minute) ..."
  python3 -m venv .venv-labelstudio
  .venv-labelstudio/bin/python -m pip --disable-pip-version-check -q install label-studio
fi
exec .venv/bin/python -m skit_pipelines.annotation.local_server "$@"
