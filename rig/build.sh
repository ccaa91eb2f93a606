#!/usr/bin/env bash
# Builds the rig's programs from their Go modules into a cache outside the clone, one directory per
# program and version: $FLEET_RIG_CACHE (default ~/.cache/fleet-rig)/<name>-<version>/. A finished
# directory has a `.complete` stamp and is never built again; an interrupted build resumes from Go's
# build cache. Nothing here is needed by `pulumi up` of a user's stack: it is test infrastructure.
#
#   rig/build.sh [--deadline EPOCH_SECONDS] [NAME ...]
#
# With --deadline, a build that would run past it is stopped, and the script exits 3 naming what is
# missing (the next run resumes). Any other failure (a compile error, a bad go.sum) exits 1.
# Exit 0: every requested program is in the cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=rig/versions.sh
. "$here/versions.sh"
cache="${FLEET_RIG_CACHE:-$HOME/.cache/fleet-rig}"
mkdir -p "$cache" && cache="$(cd "$cache" && pwd)"
deadline=""
if [ "${1:-}" = "--deadline" ]; then
  [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "rig build: --deadline needs epoch seconds" >&2; exit 1; }
  deadline="$2"; shift 2
fi
out_of_time=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED="${CGO_ENABLED:-0}"

log() { echo "rig build: $*" >&2; }

# Runs "$@" within the deadline. Running out of time is told apart from failing (out_of_time=1):
# only the first is "not ready yet".
timed() {
  if [ -z "$deadline" ]; then "$@"; return; fi
  local left=$((deadline - $(date +%s))) rc=0
  if [ "$left" -le 0 ]; then out_of_time=1; return 124; fi
  timeout --kill-after=10 "$left" "$@" || rc=$?
  if [ "$rc" -ne 0 ] && { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$(date +%s)" -ge "$deadline" ]; }; then out_of_time=1; fi
  return "$rc"
}

# build NAME VERSION MODULE_DIR LDFLAGS PKG... : go build every PKG into the cache directory.
build() {
  local name="$1" version="$2" dir="$3" ldflags="$4"; shift 4
  local out="$cache/$name-$version"
  if [ -f "$out/.complete" ]; then return 0; fi
  local start; start=$(date +%s)
  log "$name $version: building (cold, this can take minutes; an interrupted build resumes)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  if ! (cd "$dir" && timed go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/" "$@"); then
    [ -n "$deadline" ] && [ "$(date +%s)" -ge "$deadline" ] && out_of_time=1
    rm -rf "$out.tmp"; log "$name $version: NOT built (stopped or failed)"; return 3
  fi
  if [ -n "${AFTER_BUILD:-}" ]; then "$AFTER_BUILD" "$out.tmp" || { rm -rf "$out.tmp"; return 3; }; fi
  date -u +%FT%TZ >"$out.tmp/.complete"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "$name $version: built in $(($(date +%s) - start)) s"
}

k8s_ldflags="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=${KUBERNETES_VERSION%%.*}"
k8s_minor="${KUBERNETES_VERSION#*.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="$k8s_ldflags -X k8s.io/component-base/version.gitMinor=$k8s_minor -X k8s.io/component-base/version.gitTreeState=clean"

build_etcd() { build etcd "$ETCD_VERSION" "$here/go/etcd" "" .; }
build_kubernetes() {
  build kubernetes "$KUBERNETES_VERSION" "$here/go/kubernetes" "$k8s_ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
}
# The CLI's release archive ships the Node.js SDK's dynamic-provider launcher beside it
# (sdk/nodejs/dist in the sdk module); put it in before the directory is stamped complete.
pulumi_launcher() {
  local sdk; sdk="$(cd "$here/go/pulumi" && timed go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)" || return
  install -m 0755 "$sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$1/pulumi-resource-pulumi-nodejs"
}
build_pulumi() {
  AFTER_BUILD=pulumi_launcher build pulumi "$PULUMI_VERSION" "$here/go/pulumi" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}
build_language_nodejs() {
  build pulumi-language-nodejs "$PULUMI_LANGUAGE_NODEJS_VERSION" "$here/go/pulumi-language-nodejs" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_NODEJS_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
}
build_kubernetes_provider() {
  local out="$cache/pulumi-resource-kubernetes-$PULUMI_KUBERNETES_VERSION"
  if [ -f "$out/.complete" ]; then return 0; fi
  # main.go embeds schema-embed.json, which the repository's Makefile writes with generate.go: copy
  # the command out of the (read-only) module cache into a scratch copy of the wrapper module and
  # run that generator there.
  local work="$cache/src/pulumi-kubernetes-$PULUMI_KUBERNETES_VERSION"
  local mod; mod="$(cd "$here/go/pulumi-kubernetes" && timed go mod download -json "$PULUMI_KUBERNETES_MODULE@$PULUMI_KUBERNETES_PSEUDO" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  rm -rf "$work" && mkdir -p "$work/cmd"
  cp "$here/go/pulumi-kubernetes/go.mod" "$here/go/pulumi-kubernetes/go.sum" "$work/"
  cp -r "$mod/cmd/pulumi-resource-kubernetes" "$work/cmd/" && chmod -R u+w "$work/cmd"
  (cd "$work/cmd/pulumi-resource-kubernetes" && VERSION="$PULUMI_KUBERNETES_VERSION" timed go run ./generate.go) || { log "pulumi-resource-kubernetes: generate failed"; return 3; }
  build pulumi-resource-kubernetes "$PULUMI_KUBERNETES_VERSION" "$work" \
    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" ./cmd/pulumi-resource-kubernetes
}
build_source_controller() { build source-controller "$SOURCE_CONTROLLER_VERSION" "$here/go/flux-source-controller" "" github.com/fluxcd/source-controller; }
build_kustomize_controller() { build kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION" "$here/go/flux-kustomize-controller" "" github.com/fluxcd/kustomize-controller; }
# Flux v2.7.3's two controllers (versions.sh): the real tier's upgrade from 2.7 changes binaries.
build_flux27_controllers() {
  build source-controller "$FLUX27_SOURCE_CONTROLLER_VERSION" "$here/go/flux27-source-controller" "" github.com/fluxcd/source-controller || return
  build kustomize-controller "$FLUX27_KUSTOMIZE_CONTROLLER_VERSION" "$here/go/flux27-kustomize-controller" "" github.com/fluxcd/kustomize-controller
}
build_helm_controller() { build helm-controller "$HELM_CONTROLLER_VERSION" "$here/go/flux-helm-controller" "" github.com/fluxcd/helm-controller; }
build_notification_controller() { build notification-controller "$NOTIFICATION_CONTROLLER_VERSION" "$here/go/flux-notification-controller" "" github.com/fluxcd/notification-controller; }
build_image_reflector_controller() { build image-reflector-controller "$IMAGE_REFLECTOR_CONTROLLER_VERSION" "$here/go/flux-image-reflector-controller" "" github.com/fluxcd/image-reflector-controller; }
build_image_automation_controller() { build image-automation-controller "$IMAGE_AUTOMATION_CONTROLLER_VERSION" "$here/go/flux-image-automation-controller" "" github.com/fluxcd/image-automation-controller; }
build_sops() { build sops "$SOPS_VERSION" "$here/go/sops" "" github.com/getsops/sops/v3/cmd/sops; }
standin_name() { mv "$1/standin" "$1/fluxinstance-standin"; }
registry_name() { mv "$1/registry" "$1/rig-registry"; }
# The rig's own programs (doubles and the stand-in), keyed by a hash of their sources.
build_rig_tools() {
  local v; v="$(rig_tools_version "$here")"
  build githubd "$v" "$here/go/githubd" "" . || return
  AFTER_BUILD=registry_name build registry "$v" "$here/go/registry" "" . || return
  build rig-providers "$v" "$here/go/providers" "" ./cmd/pulumi-resource-github ./cmd/pulumi-resource-tls || return
  # go build names the binary after the module (fleet-rig/standin); the rig calls it by what it is.
  AFTER_BUILD=standin_name build fluxinstance-standin "$v" "$here/go/standin" "" . || return
  local crds="$cache/flux-crds-$v"
  if [ ! -f "$crds/.complete" ]; then
    rm -rf "$crds.tmp" && mkdir -p "$crds.tmp"
    CONTROLLER_GEN="${CONTROLLER_GEN:-$cache/controller-gen-v0.21.0}" timed bash "$here/go/crds/gen.sh" "$crds.tmp" || { rm -rf "$crds.tmp"; log "flux CRDs: NOT generated"; return 3; }
    date -u +%FT%TZ >"$crds.tmp/.complete" && rm -rf "$crds" && mv "$crds.tmp" "$crds"
  fi
  # The CRDs of Flux v2.8.1, for the stand-in's second version (--also-version): the real tier's
  # upgrade from 2.8 to 2.9 (test/real/fleet.spec.ts, 6e).
  local crds28="$cache/flux-crds-2.8-$v"
  if [ ! -f "$crds28/.complete" ]; then
    rm -rf "$crds28.tmp" && mkdir -p "$crds28.tmp"
    CONTROLLER_GEN="${CONTROLLER_GEN:-$cache/controller-gen-v0.21.0}" timed bash "$here/go/crds/gen.sh" "$crds28.tmp" "$here/go/crds-2.8" || { rm -rf "$crds28.tmp"; log "flux 2.8 CRDs: NOT generated"; return 3; }
    date -u +%FT%TZ >"$crds28.tmp/.complete" && rm -rf "$crds28" && mv "$crds28.tmp" "$crds28"
  fi
  # And Flux v2.7.3's (a FluxInstance at 2.7.x), whose controllers build_flux27_controllers makes.
  local crds27="$cache/flux-crds-2.7-$v"
  if [ ! -f "$crds27/.complete" ]; then
    rm -rf "$crds27.tmp" && mkdir -p "$crds27.tmp"
    CONTROLLER_GEN="${CONTROLLER_GEN:-$cache/controller-gen-v0.21.0}" timed bash "$here/go/crds/gen.sh" "$crds27.tmp" "$here/go/crds-2.7" || { rm -rf "$crds27.tmp"; log "flux 2.7 CRDs: NOT generated"; return 3; }
    date -u +%FT%TZ >"$crds27.tmp/.complete" && rm -rf "$crds27" && mv "$crds27.tmp" "$crds27"
  fi
}

all=(rig_tools etcd kubernetes source_controller kustomize_controller pulumi language_nodejs kubernetes_provider
  helm_controller notification_controller image_reflector_controller image_automation_controller flux27_controllers sops)
want=("$@"); if [ ${#want[@]} -eq 0 ]; then want=("${all[@]}"); fi
missing=()
for w in "${want[@]}"; do
  if ! "build_${w//-/_}"; then missing+=("$w"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "missing: ${missing[*]}"
  if [ "$out_of_time" -eq 1 ]; then exit 3; fi
  exit 1
fi
log "all built under $cache"
