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
SOURCE_CONTROLLER_VERSION=1.9.5       # Flux v2.9.5 (flux2 go.mod: source-controller/api v1.9.5)
KUSTOMIZE_CONTROLLER_VERSION=1.9.5    # Flux v2.9.5 (flux2 go.mod: kustomize-controller/api v1.9.5)

# Version key of the rig's own Go programs: a hash of their sources, so an edit rebuilds them.
rig_tools_version() {
  (cd "$1/go" && find githubd providers standin crds -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.sh' \) -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}
