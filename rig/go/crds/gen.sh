#!/usr/bin/env bash
# gen.sh OUTDIR [MODULE_DIR] — generate the Flux v2.9.5 controller CRDs (all six controllers) into OUTDIR
# with controller-gen; with MODULE_DIR, those of the api modules that wrapper module requires
# instead (../crds-2.8: Flux v2.8.1's), with the same controller-gen and package list.
#
# What upstream does (Makefile `manifests` target of each controller, pinned here):
#   source-controller v1.9.5    Makefile:27,43,108  controller-gen v0.21.0 crd:crdVersions=v1 paths=./... (in api/)
#   kustomize-controller v1.9.5 Makefile:4,50,136   same
#   helm-controller v1.6.4      Makefile:4,49,98    same
#   notification-controller v1.9.3, image-reflector-controller v1.2.4, image-automation-controller
#   v1.2.4: Makefile CONTROLLER_GEN_VERSION ?= v0.21.0 (lines 12, 19, 40), same invocation; the api
#   modules are the releases Flux v2.9.5 ships (notification api v1.9.4, image apis v1.2.5), one
#   patch past the controllers the rig runs (rig/versions.sh)
# Flux v2.9.5 ships exactly these controller releases (manifests/bases/*/kustomization.yaml@v2.9.5,
# go.mod@v2.9.5). We point controller-gen at the same api packages, resolved through this wrapper
# module (go/packages reads them from the read-only module cache; nothing is written there).
# Every api group/version package is passed; the old versions carry +kubebuilder:skipversion
# (e.g. source-controller/api v1beta2/gitrepository_types.go:289@v1.9.5) and the served ones
# +kubebuilder:storageversion, so the output has one served+storage version per CRD, as upstream:
#   source.toolkit.fluxcd.io       v1: buckets, externalartifacts, gitrepositories, helmcharts,
#                                      helmrepositories, ocirepositories
#   kustomize.toolkit.fluxcd.io    v1: kustomizations
#   helm.toolkit.fluxcd.io         v2: helmreleases
#   notification.toolkit.fluxcd.io v1: receivers; v1beta3: alerts, providers
#   image.toolkit.fluxcd.io        v1: imagerepositories, imagepolicies, imageupdateautomations
#
# Env: CONTROLLER_GEN (path of the binary to build/use; default in the user cache dir),
#      GEN_BUILD_PARALLELISM (go build -p, default 1: the rig's machine is shared).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUTDIR [MODULE_DIR]" >&2
  exit 2
fi
outdir=$1
here=$(cd "$(dirname "$0")" && pwd)
moddir=$(cd "${2:-$here}" && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

bin=${CONTROLLER_GEN:-${XDG_CACHE_HOME:-$HOME/.cache}/fleet-rig/controller-gen-v0.21.0}
mkdir -p "$(dirname "$bin")"

cd "$here"
export GOFLAGS=-mod=readonly
# Incremental: go build is a no-op (cache hit) when nothing changed.
go build -p "${GEN_BUILD_PARALLELISM:-1}" -o "$bin" sigs.k8s.io/controller-tools/cmd/controller-gen
# go/packages resolves the api package paths in the wrapper module of the version wanted.
cd "$moddir"

"$bin" crd:crdVersions=v1 \
  paths=github.com/fluxcd/source-controller/api/v1 \
  paths=github.com/fluxcd/source-controller/api/v1beta1 \
  paths=github.com/fluxcd/source-controller/api/v1beta2 \
  paths=github.com/fluxcd/kustomize-controller/api/v1 \
  paths=github.com/fluxcd/kustomize-controller/api/v1beta1 \
  paths=github.com/fluxcd/kustomize-controller/api/v1beta2 \
  paths=github.com/fluxcd/helm-controller/api/v2 \
  paths=github.com/fluxcd/helm-controller/api/v2beta1 \
  paths=github.com/fluxcd/helm-controller/api/v2beta2 \
  paths=github.com/fluxcd/notification-controller/api/v1 \
  paths=github.com/fluxcd/notification-controller/api/v1beta1 \
  paths=github.com/fluxcd/notification-controller/api/v1beta2 \
  paths=github.com/fluxcd/notification-controller/api/v1beta3 \
  paths=github.com/fluxcd/image-reflector-controller/api/v1 \
  paths=github.com/fluxcd/image-reflector-controller/api/v1beta1 \
  paths=github.com/fluxcd/image-reflector-controller/api/v1beta2 \
  paths=github.com/fluxcd/image-automation-controller/api/v1 \
  paths=github.com/fluxcd/image-automation-controller/api/v1beta1 \
  paths=github.com/fluxcd/image-automation-controller/api/v1beta2 \
  output:crd:dir="$outdir"

ls "$outdir"
