#!/bin/sh
# `kubectl kustomize` renders the overlays in make deploy-check / make test.
# Installs Debian's kubectl when it is missing (CI starts from a fresh machine).
set -eu
if command -v kubectl >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "kubectl is missing: install it (apt-get install kubectl) to render deploy/k8s" >&2
    exit 1
fi
apt-get update -qq
apt-get install -y -qq kubectl
