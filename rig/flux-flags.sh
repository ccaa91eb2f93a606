# Flags of Flux's controllers on the rig (sourced by rig/rig.sh): those a Flux Operator v0.58.1
# FluxInstance with cluster.multitenant: true and tenantDefaultServiceAccount: flux gives them,
# over Flux v2.9.5's own Deployment args. Sources, by file and line at those tags, are in
# rig/go/standin/UPSTREAM.md:
#  - base args (each controller's config/manager/deployment.yaml, overridden by the operator's
#    internal/builder/templates.go): --events-addr=, --watch-all-namespaces=true, --log-level=info,
#    --log-encoding=json; --events-addr is empty because the rig runs no notification-controller
#    (internal/builder/build.go sets it only when that controller is a component);
#  - multitenancy (internal/builder/profiles.go): --no-cross-namespace-refs=true (not for
#    source-controller), --no-remote-bases=true (kustomize-controller), --default-service-account=flux
#    (kustomize-controller and helm-controller);
#  - workload identity (internal/builder/profiles.go, workload_identity.go): the program sets
#    objectLevelWorkloadIdentity and multitenantWorkloadIdentity with the tenant account as every
#    default, so every controller gets --feature-gates=ObjectLevelWorkloadIdentity=true,
#    source-controller --default-service-account=flux, and kustomize-controller
#    --default-decryption-service-account=flux and --default-kubeconfig-service-account=flux.
# The in-cluster addresses (storage, metrics, health) and leader election are set by rig.sh, on loopback.
#
# kustomize-controller's environment is the program's, not the operator's: the FluxInstance patch
# that fleet:flux.kustomizeEgress makes (components/manifests/flux.ts, kustomizeControllerEnv, at
# its default), with $(KUBERNETES_SERVICE_HOST) expanded as the kubelet expands it (from the
# service environment), here to the rig's API server address. Real tier 4d checks the live
# FluxInstance's patch gives exactly these values.
SOURCE_CONTROLLER_FLAGS=(
  --events-addr=
  --watch-all-namespaces=true
  --log-level=info
  --log-encoding=json
  --feature-gates=ObjectLevelWorkloadIdentity=true
  --default-service-account=flux
)
KUSTOMIZE_CONTROLLER_FLAGS=(
  --events-addr=
  --watch-all-namespaces=true
  --log-level=info
  --log-encoding=json
  --no-cross-namespace-refs=true
  --no-remote-bases=true
  --default-service-account=flux
  --feature-gates=ObjectLevelWorkloadIdentity=true
  --default-decryption-service-account=flux
  --default-kubeconfig-service-account=flux
)
KUSTOMIZE_CONTROLLER_ENV=(
  "HTTPS_PROXY=http://127.0.0.1:9"
  "HTTP_PROXY=http://127.0.0.1:9"
  "NO_PROXY=\$(KUBERNETES_SERVICE_HOST),source-controller.flux-system.svc.cluster.local.,source-controller.flux-system.svc.cluster.local,source-watcher.flux-system.svc.cluster.local.,source-watcher.flux-system.svc.cluster.local,notification-controller.flux-system.svc.cluster.local.,notification-controller.flux-system.svc.cluster.local"
)
