# Pinned versions of everything the rig builds (sourced by rig/build.sh and rig/rig.sh).
# Each is the newest the Go module proxy here serves at or near what the program and Flux use;
# see rig/README.md for why each differs from its npm or upstream pin where it does.
ETCD_VERSION=3.6.8                    # what k8s.io/kubernetes v1.36.3's go.mod requires
KUBERNETES_VERSION=1.36.3             # kube-apiserver, kube-controller-manager, kubectl
PULUMI_VERSION=3.274.1                # the CLI (the proxy does not serve pkg/v3 v3.270.0, the npm pin)
PULUMI_LANGUAGE_NODEJS_VERSION=3.68.0 # newest sdk/v3 release that still holds the Node.js language host
PULUMI_KUBERNETES_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
PULUMI_KUBERNETES_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199  # the only provider/v4 version the proxy serves
PULUMI_KUBERNETES_VERSION=4.0.0-f47bc2d6f199                 # reported by the plugin (GetPluginInfo)
# Flux: what Flux Operator v0.58.1 installs for the program's distribution.version 2.9.x, which is
# Flux v2.9.4, the newest version it embeds (flux-operator v0.58.1 config/data/flux/v2.9.4/*.yaml:
# the controllers' image tags below). The stand-in resolves 2.9.x to it (rig/go/standin).
FLUX_VERSION=2.9.4
SOURCE_CONTROLLER_VERSION=1.9.4
KUSTOMIZE_CONTROLLER_VERSION=1.9.4
# The operator installs helm-controller v1.6.3, whose go.mod replaces helm with a fork the proxy does
# not serve (github.com/fluxcd/helm/v4 v4.2.4-flux.1); v1.6.4 (Flux v2.9.5's) is the nearest that builds.
HELM_CONTROLLER_VERSION=1.6.4
NOTIFICATION_CONTROLLER_VERSION=1.9.3
IMAGE_REFLECTOR_CONTROLLER_VERSION=1.2.4
IMAGE_AUTOMATION_CONTROLLER_VERSION=1.2.4

# Flux v2.7.3, the release the real tier upgrades from to show the controllers' binaries change
# (fluxcd/flux2 v2.7.3 manifests/bases/*/kustomization.yaml): its source- and kustomize-controller are
# built too, and rig.sh flux-binaries switches to them when a FluxInstance resolves to it. The newest
# 2.7.x whose two controllers the module proxy serves (v2.7.4 needs source-controller v1.7.4, refused);
# no 2.8.x kustomize-controller is served. The other four controllers stay v2.9.4's.
FLUX27_VERSION=2.7.3
FLUX27_SOURCE_CONTROLLER_VERSION=1.7.3
FLUX27_KUSTOMIZE_CONTROLLER_VERSION=1.7.2

# The sops CLI the real tier encrypts tenants' secrets with (github.com/getsops/sops/v3; v3.13.3 is the
# newest the proxy serves; kustomize-controller v1.9.4 decrypts with v3.13.2, its go.mod's).
SOPS_VERSION=3.13.3

# Version key of the rig's own Go programs: a hash of their sources, so an edit rebuilds them.
rig_tools_version() {
  (cd "$1/go" && find githubd providers standin crds crds-2.8 crds-2.7 registry -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.sh' \) -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}
