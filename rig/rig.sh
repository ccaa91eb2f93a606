#!/usr/bin/env bash
# The real-engine rig: a real etcd, kube-apiserver and kube-controller-manager, Flux's
# source-controller and kustomize-controller as plain processes, a GitHub double (REST + SSH git)
# and a stand-in for the Flux Operator's FluxInstance reconciler. Everything listens on loopback
# only; every PID started is recorded under .rig/pids and only those are stopped.
#
#   npm run rig -- build     build what is missing into the cache (rig/build.sh)
#   npm run rig -- start     start everything (builds nothing: run build first)
#   npm run rig -- stop      stop what start started, by PID
#   npm run rig -- env       print `export …` lines for kubectl and pulumi by hand
#   npm run rig -- status    which recorded processes are alive
#
# What is real and what is a double: rig/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=rig/versions.sh
. "$here/versions.sh"
cache="${FLEET_RIG_CACHE:-$HOME/.cache/fleet-rig}"
state="${FLEET_RIG_DIR:-$root/.rig}"
mkdir -p "$state" && state="$(cd "$state" && pwd)"
mkdir -p "$cache" && cache="$(cd "$cache" && pwd)"
pids="$state/pids"
logs="$state/logs"

# Loopback ports; each can be moved with its environment variable. All below the kernel's ephemeral
# range (ip_local_port_range, 32768 and up by default): a port in it can be taken at start by an
# outgoing connection of the rig itself (seen: the apiserver's connection to etcd held 38022).
ETCD_PORT="${RIG_ETCD_PORT:-22379}"
ETCD_PEER_PORT="${RIG_ETCD_PEER_PORT:-22380}"
APISERVER_PORT="${RIG_APISERVER_PORT:-26443}"
GITHUB_HTTP_PORT="${RIG_GITHUB_HTTP_PORT:-28080}"
GITHUB_SSH_PORT="${RIG_GITHUB_SSH_PORT:-28022}"
SC_STORAGE_PORT="${RIG_SC_STORAGE_PORT:-29090}"
SC_METRICS_PORT="${RIG_SC_METRICS_PORT:-29091}"
SC_HEALTH_PORT="${RIG_SC_HEALTH_PORT:-29092}"
KC_METRICS_PORT="${RIG_KC_METRICS_PORT:-29093}"
KC_HEALTH_PORT="${RIG_KC_HEALTH_PORT:-29094}"
HC_METRICS_PORT="${RIG_HC_METRICS_PORT:-29095}"
HC_HEALTH_PORT="${RIG_HC_HEALTH_PORT:-29096}"
NC_EVENTS_PORT="${RIG_NC_EVENTS_PORT:-29097}"
NC_RECEIVER_PORT="${RIG_NC_RECEIVER_PORT:-29098}"
NC_METRICS_PORT="${RIG_NC_METRICS_PORT:-29099}"
NC_HEALTH_PORT="${RIG_NC_HEALTH_PORT:-29100}"
IRC_METRICS_PORT="${RIG_IRC_METRICS_PORT:-29101}"
IRC_HEALTH_PORT="${RIG_IRC_HEALTH_PORT:-29102}"
IAC_METRICS_PORT="${RIG_IAC_METRICS_PORT:-29103}"
IAC_HEALTH_PORT="${RIG_IAC_HEALTH_PORT:-29104}"
REGISTRY_PORT="${RIG_REGISTRY_PORT:-29110}"
KCM_PORT="${RIG_KCM_PORT:-29257}"
GITHUB_OWNER="${RIG_GITHUB_OWNER:-acme}"
GITHUB_TEAMS=(platform team-a-devs payments-devs)
# A GitHub App installed on the organisation (githubd makes its key on first start), for the
# fleet sync as an App (fleet:repository.githubApp; test/real/fleet.spec.ts, 5e).
GITHUB_APP_ID=1001
GITHUB_APP_INSTALLATION_ID=2002
HOST=127.0.0.1
# The proxy kustomize-controller is given by default (fleet:flux.kustomizeEgress): a closed port.
# start refuses to run while anything listens there, since the egress guard relies on it.
EGRESS_PROXY_PORT=9
# A name that Flux's controllers resolve to loopback, from an /etc/hosts of their own (a private
# mount namespace; the machine's file is untouched). Go's proxy rules never proxy a loopback
# address (net/http ProxyFromEnvironment), so a remote fetch the real tier aims at the canary goes
# by this name: an address that, like a cloud metadata endpoint or another namespace's service
# in a cluster, is not the controller's own loopback (test/real/fleet.spec.ts, 4d).
CANARY_HOST=canary.fleet-rig.test
# source-controller advertises its artifacts under its in-cluster name, as in a cluster (Flux's
# `--storage-adv-addr`, with the trailing dot), which the controllers resolve to loopback: so
# kustomize-controller's downloads go through its NO_PROXY rule, and a wrong rule breaks every
# Kustomization on the rig as it would in a cluster.
SC_SERVICE=source-controller.flux-system.svc.cluster.local
# The other controllers send their events to notification-controller by its in-cluster name too
# (flux2's patch.yaml: --events-addr=http://notification-controller.flux-system.svc.cluster.local./),
# on the rig's port for it: kustomize-controller's events therefore also go through its NO_PROXY rule.
NC_SERVICE=notification-controller.flux-system.svc.cluster.local

log() { echo "rig: $*" >&2; }
die() { echo "rig: $*" >&2; exit 1; }

bin_dirs() {
  local v; v="$(rig_tools_version "$here")"
  echo "$cache/etcd-$ETCD_VERSION" "$cache/kubernetes-$KUBERNETES_VERSION" "$cache/pulumi-$PULUMI_VERSION" \
    "$cache/pulumi-language-nodejs-$PULUMI_LANGUAGE_NODEJS_VERSION" "$cache/pulumi-resource-kubernetes-$PULUMI_KUBERNETES_VERSION" \
    "$cache/source-controller-$SOURCE_CONTROLLER_VERSION" "$cache/kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION" \
    "$cache/helm-controller-$HELM_CONTROLLER_VERSION" "$cache/notification-controller-$NOTIFICATION_CONTROLLER_VERSION" \
    "$cache/image-reflector-controller-$IMAGE_REFLECTOR_CONTROLLER_VERSION" "$cache/image-automation-controller-$IMAGE_AUTOMATION_CONTROLLER_VERSION" \
    "$cache/githubd-$v" "$cache/registry-$v" "$cache/rig-providers-$v" "$cache/fluxinstance-standin-$v" \
    "$cache/sops-$SOPS_VERSION"
}
crd_dir() { echo "$cache/flux-crds-$(rig_tools_version "$here")"; }
# Flux v2.8.1's CRDs (rig/go/crds-2.8): the stand-in's second version, for the real tier's upgrade.
crd_dir_28() { echo "$cache/flux-crds-2.8-$(rig_tools_version "$here")"; }
# Flux v2.7.3's CRDs (rig/go/crds-2.7) and its source- and kustomize-controller, not on PATH: the
# stand-in's third version, whose binaries `flux-binaries` runs (the real tier's gate across binaries).
crd_dir_27() { echo "$cache/flux-crds-2.7-$(rig_tools_version "$here")"; }
flux27_dirs() { echo "$cache/source-controller-$FLUX27_SOURCE_CONTROLLER_VERSION" "$cache/kustomize-controller-$FLUX27_KUSTOMIZE_CONTROLLER_VERSION"; }

rig_path() {
  local p=""
  for d in $(bin_dirs); do p="$p$d:"; done
  # Node 22 from the `node` devDependency: the Pulumi language host runs the `node` on PATH.
  echo "$p$root/node_modules/.bin:$PATH"
}

check_built() {
  local missing=()
  for d in $(bin_dirs) "$(crd_dir)" "$(crd_dir_28)" "$(crd_dir_27)" $(flux27_dirs); do [ -f "$d/.complete" ] || missing+=("$(basename "$d")"); done
  if [ ${#missing[@]} -gt 0 ]; then
    die "not built: ${missing[*]}; run: npm run rig -- build"
  fi
}

# The FluxInstance CRD is the operator's; the rig takes it from FLUX_INSTANCE_CRD (CI sets it to the
# copy beside the checkout). It is never copied into this repository.
flux_instance_crd() {
  local crd="${FLUX_INSTANCE_CRD:-$(cd "$root/.." && pwd)/shared/schemas/fluxcd.controlplane.io_fluxinstances.yaml}"
  [ -f "$crd" ] || die "FluxInstance CRD not found at $crd: set FLUX_INSTANCE_CRD to the Flux Operator's fluxcd.controlplane.io_fluxinstances.yaml"
  echo "$crd"
}

port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# start NAME CMD...: run CMD in its own session, logging to .rig/logs/NAME.log, PID to .rig/pids/NAME.
start_proc() {
  local name="$1"; shift
  if [ -f "$pids/$name" ] && kill -0 "$(cat "$pids/$name")" 2>/dev/null; then die "$name is already running (pid $(cat "$pids/$name")); run: npm run rig -- stop"; fi
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name"
  log "started $name (pid $!), log $logs/$name.log"
}

# A command prefix: what follows runs in a private mount namespace whose /etc/hosts is
# $state/controllers.hosts (the machine's, plus $CANARY_HOST and $SC_SERVICE). unshare and sh exec, so the PID
# start_proc records is the command's own.
with_hosts=(unshare --mount --propagation private -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$state/controllers.hosts")

wait_for() {
  local what="$1" name="$2" secs="$3"; shift 3
  local i
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$pids/$name")" 2>/dev/null; then tail -20 "$logs/$name.log" >&2; die "$name exited while waiting for $what"; fi
    sleep 0.25
  done
  tail -20 "$logs/$name.log" >&2
  die "timed out after ${secs}s waiting for $what"
}

pki() {
  local d="$state/pki"
  mkdir -p "$d"
  if [ -f "$d/sa.pub" ] && openssl x509 -checkend 86400 -noout -in "$d/admin.crt" >/dev/null 2>&1; then return 0; fi
  rm -rf "$d" && mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=fleet-rig-ca" 2>/dev/null
    cat >apiserver.ext <<EOF
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EOF
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 30 -extfile apiserver.ext 2>/dev/null
    # The admin: group system:masters, as kind's and kubeadm's admin.conf.
    echo "extendedKeyUsage=clientAuth" >client.ext
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=rig-admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 30 -extfile client.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

kubeconfig_file() { # FILE USER [TOKEN]: a self-contained kubeconfig (data inline, no file paths).
  local file="$1" user="$2" token="${3:-}"
  local auth
  if [ -n "$token" ]; then auth="    token: $token"; else
    auth="    client-certificate-data: $(base64 -w0 "$state/pki/admin.crt")
    client-key-data: $(base64 -w0 "$state/pki/admin.key")"
  fi
  (umask 077; cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: rig
  cluster:
    server: https://$HOST:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$state/pki/ca.crt")
users:
- name: $user
  user:
$auth
contexts:
- name: rig
  context: { cluster: rig, user: $user }
current-context: rig
EOF
  )
}

github_token() {
  [ -f "$state/github-token" ] || (umask 077; openssl rand -hex 20 >"$state/github-token")
  cat "$state/github-token"
}

cmd_start() {
  check_built
  # The controllers' private /etc/hosts is a bind mount in a mount namespace of their own.
  [ "$(id -u)" = 0 ] || die "start needs root: the controllers run under unshare --mount with an /etc/hosts of their own (rig/README.md, The canary)"
  local crd; crd="$(flux_instance_crd)"
  mkdir -p "$pids" "$logs"
  export PATH; PATH="$(rig_path)"
  for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$GITHUB_HTTP_PORT" "$GITHUB_SSH_PORT" "$SC_STORAGE_PORT" \
    "$SC_METRICS_PORT" "$SC_HEALTH_PORT" "$KC_METRICS_PORT" "$KC_HEALTH_PORT" "$HC_METRICS_PORT" "$HC_HEALTH_PORT" \
    "$NC_EVENTS_PORT" "$NC_RECEIVER_PORT" "$NC_METRICS_PORT" "$NC_HEALTH_PORT" "$IRC_METRICS_PORT" "$IRC_HEALTH_PORT" \
    "$IAC_METRICS_PORT" "$IAC_HEALTH_PORT" "$REGISTRY_PORT" "$KCM_PORT" "$EGRESS_PROXY_PORT"; do
    port_free "$p" || die "port $HOST:$p is in use (set RIG_*_PORT to move it, or run: npm run rig -- stop)"
  done
  # A start after an unclean stop: no recorded process runs, so what they left is stale.
  for f in "$pids"/*; do [ -f "$f" ] && ! kill -0 "$(cat "$f")" 2>/dev/null && rm -f "$f"; done
  if [ -z "$(ls -A "$pids")" ]; then drop_data; fi
  pki
  local started; started=$(date +%s)
  start_cluster "$crd"

  # The GitHub double: REST API and SSH git server.
  local token; token="$(github_token)"
  local teams=(); for t in "${GITHUB_TEAMS[@]}"; do teams+=(--team "$t"); done
  rm -f "$state/githubd.ready"
  start_proc githubd githubd --data "$state/github" --http "$HOST:$GITHUB_HTTP_PORT" --ssh "$HOST:$GITHUB_SSH_PORT" \
    --owner "$GITHUB_OWNER" --token "$token" "${teams[@]}" --app-id "$GITHUB_APP_ID" --app-installation "$GITHUB_APP_INSTALLATION_ID" \
    --ready-file "$state/githubd.ready"
  wait_for "githubd" githubd 30 test -f "$state/githubd.ready"

  # A container registry (rig/go/registry), for image-reflector-controller to list tags from.
  rm -f "$state/registry.ready"
  start_proc registry rig-registry --addr "$HOST:$REGISTRY_PORT" --ready-file "$state/registry.ready"
  wait_for "registry" registry 30 test -f "$state/registry.ready"

  start_flux
  cmd_env >"$state/env"
  log "ready in $(($(date +%s) - started)) s; for kubectl and pulumi by hand: eval \"\$(npm run --silent rig -- env)\""
}

# The cluster: etcd, kube-apiserver, kube-controller-manager, and what an installed operator leaves
# (flux-system, the CRDs, the controllers' accounts and RBAC). CRD FILE: the FluxInstance CRD.
start_cluster() {
  local crd="$1"
  # etcd: one member, loopback, no fsync (test data only).
  start_proc etcd etcd --name rig --data-dir "$state/etcd" \
    --listen-client-urls "http://$HOST:$ETCD_PORT" --advertise-client-urls "http://$HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster "rig=http://$HOST:$ETCD_PEER_PORT" --listen-metrics-urls "" --unsafe-no-fsync --log-level warn
  wait_for "etcd" etcd 30 curl -fsS "http://$HOST:$ETCD_PORT/health"

  # kube-apiserver, with the flags a kubeadm (kind) control plane uses where they matter here
  # (kubernetes v1.36.3 cmd/kubeadm/app/phases/controlplane/manifests.go, getAPIServerCommand):
  # RBAC authorization (the Node authorizer and NodeRestriction need kubelets, of which the rig has
  # none), the default admission plugins of 1.36 (PodSecurity and ValidatingAdmissionPolicy among
  # them; pkg/kubeapiserver/options/plugins.go, DefaultOffAdmissionPlugins), service-account tokens
  # signed with the rig's key. --allow-privileged=true as kubeadm sets it, so Pod Security admission,
  # not the apiserver's own switch, decides about privileged pods.
  start_proc kube-apiserver kube-apiserver \
    --bind-address="$HOST" --advertise-address="$HOST" --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://$HOST:$ETCD_PORT" \
    --authorization-mode=RBAC --allow-privileged=true \
    --client-ca-file="$state/pki/ca.crt" --tls-cert-file="$state/pki/apiserver.crt" --tls-private-key-file="$state/pki/apiserver.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$state/pki/sa.pub" --service-account-signing-key-file="$state/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 --cert-dir="$state/pki/generated" \
    --enable-priority-and-fairness=false --profiling=false
  wait_for "kube-apiserver /readyz" kube-apiserver 90 \
    curl -fsS --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" "https://$HOST:$APISERVER_PORT/readyz"
  kubeconfig_file "$state/kubeconfig" rig-admin
  export KUBECONFIG="$state/kubeconfig"

  # kube-controller-manager: namespace deletion, garbage collection, service-account tokens. It runs
  # with the admin credentials (the rig has no kubeconfig of its own for it), and with only the
  # controllers that need no nodes or cloud.
  start_proc kube-controller-manager kube-controller-manager --kubeconfig="$state/kubeconfig" \
    --bind-address="$HOST" --secure-port="$KCM_PORT" --leader-elect=false \
    --service-account-private-key-file="$state/pki/sa.key" --root-ca-file="$state/pki/ca.crt" \
    --controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,resourcequota-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller \
    --use-service-account-credentials=false
  wait_for "kube-controller-manager /healthz" kube-controller-manager 60 curl -fsSk "https://$HOST:$KCM_PORT/healthz"

  # What an installed Flux Operator leaves on a cluster before any FluxInstance: its namespace and
  # the CRDs (the operator's FluxInstance CRD; Flux's CRDs, which the operator would apply from its
  # manifests artifact, generated here with controller-gen from Flux's api modules).
  kubectl create namespace flux-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply --server-side -f "$crd" >/dev/null
  kubectl apply --server-side -f "$(crd_dir)" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  kubectl apply --server-side -f "$here/flux-rbac.yaml" >/dev/null
}

# What start_flux and start_cluster start. stop and wipe-cluster stop the stand-in first, then the
# controllers together, then the cluster's processes one at a time, in this order.
FLUX_CONTROLLERS=(image-automation-controller image-reflector-controller helm-controller kustomize-controller source-controller
  notification-controller)
CLUSTER_PROCS=(kube-controller-manager kube-apiserver etcd)

# start_controller NAME METRICS_PORT HEALTH_PORT CMD...: a Flux controller as its own account, in the
# controllers' mount namespace, with its metrics and health on the rig's ports for it.
# Each is recorded, to be waited for by wait_controllers.
started_controllers=()
start_controller() {
  local name="$1" metrics="$2" health="$3"; shift 3
  KUBECONFIG="$state/$name.kubeconfig" RUNTIME_NAMESPACE=flux-system start_proc "$name" "${with_hosts[@]}" "$@" \
    --metrics-addr="$HOST:$metrics" --health-addr="$HOST:$health" --enable-leader-election=false
  started_controllers+=("$name:$health")
}

# wait_controllers: every controller started since the last wait answers /readyz.
wait_controllers() {
  local c
  for c in "${started_controllers[@]}"; do
    wait_for "${c%%:*} /readyz" "${c%%:*}" 60 curl -fsS "http://$HOST:${c##*:}/readyz"
  done
  started_controllers=()
}

# start_source_kustomize SC_BIN KC_BIN: source- and kustomize-controller from those binaries (start_flux's,
# or another Flux version's: flux-binaries), with their flags (rig/flux-flags.sh); waited for by wait_controllers.
start_source_kustomize() {
  # shellcheck source=rig/flux-flags.sh
  . "$here/flux-flags.sh"
  local kc_env=() e
  for e in "${KUSTOMIZE_CONTROLLER_ENV[@]}"; do kc_env+=("${e//'$(KUBERNETES_SERVICE_HOST)'/$HOST}"); done
  start_controller source-controller "$SC_METRICS_PORT" "$SC_HEALTH_PORT" "$1" "${SOURCE_CONTROLLER_FLAGS[@]}" \
    --storage-path="$state/source-storage" --storage-addr="$HOST:$SC_STORAGE_PORT" --storage-adv-addr="$SC_SERVICE.:$SC_STORAGE_PORT"
  start_controller kustomize-controller "$KC_METRICS_PORT" "$KC_HEALTH_PORT" env "${kc_env[@]}" "$2" "${KUSTOMIZE_CONTROLLER_FLAGS[@]}"
}

# start_controllers SC_BIN KC_BIN: the six Flux controllers (source- and kustomize-controller from
# those binaries), started in order and waited for. notification-controller first: the others
# send it their events from the start.
start_controllers() {
  # shellcheck source=rig/flux-flags.sh
  . "$here/flux-flags.sh"
  start_controller notification-controller "$NC_METRICS_PORT" "$NC_HEALTH_PORT" notification-controller "${NOTIFICATION_CONTROLLER_FLAGS[@]}" \
    --events-addr="$HOST:$NC_EVENTS_PORT" --receiverAddr="$HOST:$NC_RECEIVER_PORT"
  start_source_kustomize "$1" "$2"
  start_controller helm-controller "$HC_METRICS_PORT" "$HC_HEALTH_PORT" helm-controller "${HELM_CONTROLLER_FLAGS[@]}"
  start_controller image-reflector-controller "$IRC_METRICS_PORT" "$IRC_HEALTH_PORT" image-reflector-controller "${IMAGE_REFLECTOR_CONTROLLER_FLAGS[@]}" \
    --storage-path="$state/image-reflector-storage"
  start_controller image-automation-controller "$IAC_METRICS_PORT" "$IAC_HEALTH_PORT" image-automation-controller "${IMAGE_AUTOMATION_CONTROLLER_FLAGS[@]}"
  wait_controllers
}

# Flux's controllers and the operator stand-in, on the cluster start_cluster made.
start_flux() {
  # Flux's controllers, each as its own service account (a token kubeconfig), with the flags Flux
  # v2.9.4's manifests and the Flux Operator's multi-tenancy profile give them (rig/flux-flags.sh).
  # shellcheck source=rig/flux-flags.sh
  . "$here/flux-flags.sh"
  local c
  for c in "${FLUX_CONTROLLERS[@]}"; do
    kubeconfig_file "$state/$c.kubeconfig" "$c" "$(kubectl -n flux-system create token "$c" --duration=48h)"
  done
  mkdir -p "$state/source-storage" "$state/image-reflector-storage"
  { cat /etc/hosts; echo "$HOST $CANARY_HOST"; echo "$HOST $SC_SERVICE"; echo "$HOST $NC_SERVICE"; } >"$state/controllers.hosts"
  start_controllers source-controller kustomize-controller

  # The stand-in for the operator's FluxInstance reconciler (rig/go/standin), as the operator runs:
  # with cluster-admin rights. It applies the rig's CRDs, accounts and RBAC for spec.components, as the
  # operator applies its manifests' (taking them over from flux bootstrap), and deletes the CRDs of
  # spec.components on uninstall, as the operator does; the accounts and RBAC the rig's controllers
  # run on it keeps (rig/go/standin/install.go). A FluxInstance may also resolve to Flux v2.8.1,
  # which gets 2.8.1's CRDs and the same controllers, or to v2.7.3, which gets 2.7.3's CRDs and, after
  # each apply (--on-version, where the operator rolls its Deployments), 2.7.3's source- and
  # kustomize-controller (flux-binaries): the real tier's upgrades.
  start_proc fluxinstance-standin fluxinstance-standin --kubeconfig "$state/kubeconfig" --flux-version "v$FLUX_VERSION" \
    --install-manifests "$(crd_dir)" --install-manifests "$here/flux-rbac.yaml" --delete-crds \
    --also-version "v2.8.1=$(crd_dir_28)" --also-version "v$FLUX27_VERSION=$(crd_dir_27)" \
    --on-version "bash $here/rig.sh flux-binaries"
  sleep 1
  kill -0 "$(cat "$pids/fluxinstance-standin")" 2>/dev/null || { tail -20 "$logs/fluxinstance-standin.log" >&2; die "fluxinstance-standin exited at start"; }
}

# flux-binaries VERSION [install]: source- and kustomize-controller running the binaries of Flux
# VERSION (v2.9.4, or v2.7.3: versions.sh), restarted on them unless they already are, and waited
# for; for any other version (v2.8.1) the running ones stay, and it says so. The stand-in runs this
# after each apply (--on-version), where the operator would roll the controllers' Deployments.
# With `install` (the stand-in's first apply of a FluxInstance, "Installing revision"), all six
# controllers are restarted, as the operator's install starts their Deployments' pods after the
# CRDs it just applied: processes that outlived the last uninstall, which deleted those CRDs, would
# otherwise see the new objects only after their watches' backoff (up to a minute on the rig).
cmd_flux_binaries() {
  local version="${1#v}" sc kc
  case "$version" in
    "$FLUX_VERSION") sc="$SOURCE_CONTROLLER_VERSION" kc="$KUSTOMIZE_CONTROLLER_VERSION" ;;
    "$FLUX27_VERSION") sc="$FLUX27_SOURCE_CONTROLLER_VERSION" kc="$FLUX27_KUSTOMIZE_CONTROLLER_VERSION" ;;
    *) sc="" ;;
  esac
  local sc_bin kc_bin
  if [ -n "$sc" ]; then
    sc_bin="$cache/source-controller-$sc/source-controller" kc_bin="$cache/kustomize-controller-$kc/kustomize-controller"
    [ -x "$sc_bin" ] && [ -x "$kc_bin" ] || die "flux-binaries: not built: $sc_bin, $kc_bin; run: npm run rig -- build"
  fi
  if [ "${2:-}" = "install" ]; then
    # The versions without binaries of their own (v2.8.1) keep the binaries that run.
    if [ -z "$sc" ]; then
      sc_bin="$(exe_of source-controller)" || true
      kc_bin="$(exe_of kustomize-controller)" || true
      [ -n "$sc_bin" ] && [ -n "$kc_bin" ] || die "flux-binaries: Flux v$version has no controllers of its own on the rig, and source- or kustomize-controller is not running to keep"
    fi
    stop_named "${FLUX_CONTROLLERS[@]}" || die "flux-binaries: could not stop the running controllers"
    start_controllers "$sc_bin" "$kc_bin"
    log "flux-binaries: the six controllers restarted for an install of Flux v$version"
    return 0
  fi
  [ -n "$sc" ] || { log "flux-binaries: no controllers of Flux v$version on the rig; the running ones stay"; return 0; }
  running() { [ "$(exe_of "$1")" = "$2" ]; }
  if running source-controller "$sc_bin" && running kustomize-controller "$kc_bin"; then
    log "flux-binaries: source-controller v$sc and kustomize-controller v$kc already run"; return 0
  fi
  stop_named kustomize-controller source-controller || die "flux-binaries: could not stop the running controllers"
  start_source_kustomize "$sc_bin" "$kc_bin"
  wait_controllers
  log "flux-binaries: source-controller v$sc and kustomize-controller v$kc (Flux v$version) started"
}

# A lost cluster: the Kubernetes side stopped, etcd's data and the controllers' storage deleted,
# then started again as `start` does (a new empty cluster with the operator's CRDs, as a rebuilt
# kind cluster would get from the program), at the same address and PKI. GitHub (githubd) and the
# registry keep running with their data: only the cluster is lost (docs/operations.md, Recovering).
cmd_wipe_cluster() {
  [ -f "$pids/kube-apiserver" ] || die "the rig is not running: npm run rig -- start"
  local crd; crd="$(flux_instance_crd)"
  export PATH; PATH="$(rig_path)"
  local started; started=$(date +%s)
  local p
  stop_named fluxinstance-standin || die "could not stop the cluster's processes"
  stop_named "${FLUX_CONTROLLERS[@]}" || die "could not stop the cluster's processes"
  for p in "${CLUSTER_PROCS[@]}"; do stop_named "$p" || die "could not stop the cluster's processes"; done
  rm -rf "$state/etcd" "$state/source-storage" "$state/image-reflector-storage"
  start_cluster "$crd"
  start_flux
  log "cluster wiped and started again in $(($(date +%s) - started)) s (GitHub and the registry kept)"
}

cmd_env() {
  local token; token="$(github_token)"
  cat <<EOF
export PATH="$(rig_path)"
export KUBECONFIG="$state/kubeconfig"
export GITHUB_TOKEN="$token"
export GITHUB_API_URL="http://$HOST:$GITHUB_HTTP_PORT"
export FLEET_RIG_GITHUB_OWNER="$GITHUB_OWNER"
export FLEET_RIG_SSH_HOST="$HOST:$GITHUB_SSH_PORT"
export FLEET_RIG_KNOWN_HOSTS="$state/github/known_hosts"
export FLEET_RIG_GITHUB_APP_ID="$GITHUB_APP_ID"
export FLEET_RIG_GITHUB_APP_INSTALLATION_ID="$GITHUB_APP_INSTALLATION_ID"
export FLEET_RIG_GITHUB_APP_KEY="$state/github/app-private-key.pem"
export FLEET_RIG_DIR="$state"
export FLEET_RIG_CANARY_HOST="$CANARY_HOST"
export FLEET_RIG_REGISTRY="$HOST:$REGISTRY_PORT"
export FLEET_RIG_FLUX_CRDS="$(crd_dir)"
export FLEET_RIG_FLUX_CRDS_28="$(crd_dir_28)"
export FLEET_RIG_FLUX_RBAC="$here/flux-rbac.yaml"
export PULUMI_SKIP_UPDATE_CHECKS=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
EOF
}

cmd_stop() {
  [ -d "$pids" ] || { log "nothing recorded under $pids"; return 0; }
  local failed=0
  local p
  # The stand-in first: its install hook (flux-binaries) restarts controllers, which must not happen
  # while they are being stopped.
  stop_named fluxinstance-standin || failed=1
  stop_named "${FLUX_CONTROLLERS[@]}" registry githubd || failed=1
  for p in "${CLUSTER_PROCS[@]}"; do stop_named "$p" || failed=1; done
  drop_data
  return "$failed"
}

# Stops the named processes start recorded, together: each is sent TERM at once and all are waited
# for in one 10 s window (a Flux controller takes about 2 s to shut down, and six one after another
# were most of an install's restart), then what still runs is killed. 1 if one is still running.
# Callers that need an order (the API server before etcd) call it once per step.
stop_named() {
  local name pid i failed=0 alive
  local -A term=()
  for name in "$@"; do
    [ -f "$pids/$name" ] || continue
    pid="$(cat "$pids/$name")"
    # Each process leads its own session and process group (setsid): signal the group, so what it
    # started (githubd's git upload-pack) goes with it. Only a PID that still runs a binary of the
    # rig's cache is signalled, never a process that reused a stale PID.
    if kill -0 "$pid" 2>/dev/null && ours "$pid"; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      term[$name]="$pid"
    else
      rm -f "$pids/$name"
    fi
  done
  for ((i = 0; i < 40; i++)); do
    alive=0
    for name in "${!term[@]}"; do kill -0 "${term[$name]}" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.25
  done
  for name in "$@"; do
    [ -n "${term[$name]:-}" ] || continue
    pid="${term[$name]}"
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; log "killed $name (pid $pid) after 10 s"; else log "stopped $name (pid $pid)"; fi
    if kill -0 "$pid" 2>/dev/null; then log "$name (pid $pid) is still running"; failed=1; continue; fi
    # Only the file that still names this PID: a hook may have started the process anew meanwhile.
    [ "$(cat "$pids/$name" 2>/dev/null)" = "$pid" ] && rm -f "$pids/$name"
  done
  return "$failed"
}

# State does not outlive the processes: the next start begins with an empty cluster and GitHub.
drop_data() {
  rm -rf "$state/etcd" "$state/github" "$state/source-storage" "$state/image-reflector-storage" "$state/githubd.ready" "$state/registry.ready" "$state/env" "$state"/*.kubeconfig
}

# The binary the process recorded as NAME runs; fails when none is recorded or it is gone.
exe_of() { [ -f "$pids/$1" ] && readlink "/proc/$(cat "$pids/$1")/exe" 2>/dev/null; }

# Whether PID runs a binary from the rig's cache.
ours() { case "$(readlink "/proc/$1/exe" 2>/dev/null)" in "$cache"/*) return 0 ;; *) return 1 ;; esac; }

# Processes still running a binary from the rig's cache (none may outlive the rig or the real
# tier); lists them and fails when there are any.
cmd_leftovers() {
  local found=0 p
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    if ours "$p"; then echo "rig: left running: pid $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2; found=1; fi
  done
  return "$found"
}

cmd_status() {
  local alive=0 name
  for f in "$pids"/*; do
    [ -f "$f" ] || continue
    name="$(basename "$f")"
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$name: running (pid $(cat "$f"))"; alive=$((alive + 1)); else echo "$name: not running"; fi
  done
  [ "$alive" -gt 0 ]
}

# Sourcing this file (tests of the rig itself) defines the functions and starts nothing.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case "${1:-}" in
  build) shift; exec bash "$here/build.sh" "$@" ;;
  start) ( cmd_start ) || { log "start failed: stopping what it started"; cmd_stop >/dev/null 2>&1 || true; exit 1; } ;;
  stop) cmd_stop ;;
  wipe-cluster) cmd_wipe_cluster ;;
  flux-binaries) shift; cmd_flux_binaries "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  leftovers) cmd_leftovers ;;
  *) die "usage: npm run rig -- build|start|stop|wipe-cluster|flux-binaries VERSION|env|status|leftovers" ;;
esac
