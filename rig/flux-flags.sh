# Flags of Flux's controllers on the rig (sourced by rig/rig.sh): those a Flux Operator v0.58.1
# FluxInstance with cluster.multitenant: true and tenantDefaultServiceAccount: flux gives them,
# over Flux v2.9.4's own Deployment args (what the operator installs for 2.9.x; flux2's patch.yaml and
# RBAC are identical at v2.9.4 and v2.9.5, diff -r). Sources, by file and line at those tags, are in
# rig/go/standin/UPSTREAM.md:
#  - base args (each controller's config/manager/deployment.yaml, with flux2's patch.yaml adding
#    --events-addr as args[0], overridden by the operator's internal/builder/templates.go:60-149):
#    --events-addr=<notification-controller>, --watch-all-namespaces=true, --log-level=info,
#    --log-encoding=json. notification-controller has no --events-addr argument (its own
#    --events-addr is the address it listens on; templates.go:66-76 replaces its args 0 and 1).
#    The events address is notification-controller's in-cluster name, which the controllers
#    resolve to loopback (rig.sh's controllers.hosts), on the rig's port for it;
#  - multitenancy (internal/builder/profiles.go:257-294): --no-cross-namespace-refs=true (all but
#    source-controller), --no-remote-bases=true (kustomize-controller), --default-service-account=flux
#    (kustomize-controller and helm-controller);
#  - workload identity (internal/builder/profiles.go, workload_identity.go): the program sets
#    objectLevelWorkloadIdentity and multitenantWorkloadIdentity with the tenant account as every
#    default, so every controller gets --feature-gates=ObjectLevelWorkloadIdentity=true (profiles.go:352-360);
#    source-, notification- and both image controllers --default-service-account=flux;
#    kustomize-controller --default-decryption-service-account=flux; kustomize- and helm-controller
#    --default-kubeconfig-service-account=flux (profiles.go:319-341).
# The in-cluster addresses (storage, metrics, health) and leader election are set by rig.sh, on loopback.
#
# kustomize-controller's environment is the program's, not the operator's: the FluxInstance patch
# that fleet:flux.kustomizeEgress makes (components/manifests/flux.ts, kustomizeControllerEnv, at
# its default), with $(KUBERNETES_SERVICE_HOST) expanded as the kubelet expands it (from the
# service environment), here to the rig's API server address. Real tier 4d checks the live
# FluxInstance's patch gives exactly these values.
# rig.sh sets NC_EVENTS_PORT before sourcing this file.
EVENTS_ADDR="--events-addr=http://notification-controller.flux-system.svc.cluster.local.:${NC_EVENTS_PORT:?}/"
# The base args every controller has (its deployment.yaml, as templates.go patches them).
BASE_FLAGS=(--watch-all-namespaces=true --log-level=info --log-encoding=json)
SOURCE_CONTROLLER_FLAGS=(
  "$EVENTS_ADDR" "${BASE_FLAGS[@]}"
  --feature-gates=ObjectLevelWorkloadIdentity=true
  --default-service-account=flux
)
KUSTOMIZE_CONTROLLER_FLAGS=(
  "$EVENTS_ADDR" "${BASE_FLAGS[@]}"
  --no-cross-namespace-refs=true
  --no-remote-bases=true
  --default-service-account=flux
  --feature-gates=ObjectLevelWorkloadIdentity=true
  --default-decryption-service-account=flux
  --default-kubeconfig-service-account=flux
)
HELM_CONTROLLER_FLAGS=(
  "$EVENTS_ADDR" "${BASE_FLAGS[@]}"
  --no-cross-namespace-refs=true
  --default-service-account=flux
  --feature-gates=ObjectLevelWorkloadIdentity=true
  --default-kubeconfig-service-account=flux
)
# notification-controller has no --events-addr argument: its own is the address it listens on.
NOTIFICATION_CONTROLLER_FLAGS=(
  "${BASE_FLAGS[@]}"
  --no-cross-namespace-refs=true
  --feature-gates=ObjectLevelWorkloadIdentity=true
  --default-service-account=flux
)
IMAGE_REFLECTOR_CONTROLLER_FLAGS=("$EVENTS_ADDR" "${NOTIFICATION_CONTROLLER_FLAGS[@]}")
IMAGE_AUTOMATION_CONTROLLER_FLAGS=("${IMAGE_REFLECTOR_CONTROLLER_FLAGS[@]}")
KUSTOMIZE_CONTROLLER_ENV=(
  "HTTPS_PROXY=http://127.0.0.1:9"
  "HTTP_PROXY=http://127.0.0.1:9"
  "NO_PROXY=\$(KUBERNETES_SERVICE_HOST),source-controller.flux-system.svc.cluster.local.,source-controller.flux-system.svc.cluster.local,source-watcher.flux-system.svc.cluster.local.,source-watcher.flux-system.svc.cluster.local,notification-controller.flux-system.svc.cluster.local.,notification-controller.flux-system.svc.cluster.local"
)
