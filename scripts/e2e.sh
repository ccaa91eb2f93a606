#!/usr/bin/env bash
# End-to-end run against a real kind cluster: pulumi up of a throwaway stack, check that the
# nodes are Ready and (once Flux is installed by the program) that Flux reports Ready, then
# pulumi destroy and remove everything. Needs Docker (running), kind, kubectl and the Pulumi CLI;
# GITHUB_TOKEN and E2E_GITHUB_OWNER for the GitHub side. Skips with a message when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in docker kind kubectl pulumi; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: SKIPPED - not on PATH: ${missing[*]}. Install Docker, kind, kubectl and the Pulumi CLI to run it."
  exit 0
fi
if ! docker info >/dev/null 2>&1; then
  echo "e2e: SKIPPED - Docker is installed but not running; start it and run npm run e2e again."
  exit 0
fi
: "${GITHUB_TOKEN:?e2e needs GITHUB_TOKEN (repo admin rights) for the GitHub provider}"
: "${E2E_GITHUB_OWNER:?e2e needs E2E_GITHUB_OWNER: a GitHub org or user to hold throwaway repositories}"

stack="e2e-$(date +%s)"
cluster="fleet-${stack}"
state="$(mktemp -d)"
kubeconfig="$(mktemp)"
export PULUMI_BACKEND_URL="file://${state}" PULUMI_CONFIG_PASSPHRASE="e2e-${stack}"

cleanup() {
  echo "e2e: cleaning up"
  pulumi destroy --stack "$stack" --yes --skip-preview >/dev/null 2>&1 || true
  pulumi stack rm "$stack" --yes --force >/dev/null 2>&1 || true
  kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  rm -rf "$state" "$kubeconfig" "Pulumi.${stack}.yaml"
}
trap cleanup EXIT

pulumi stack init "$stack"
pulumi config set --stack "$stack" github:owner "$E2E_GITHUB_OWNER"
pulumi config set --stack "$stack" --path 'pulumi:disable-default-providers[0]' kubernetes
pulumi config set --stack "$stack" --path fleet:cluster.name "$cluster"
pulumi config set --stack "$stack" --path fleet:repository.name "flux-fleet-${stack}"
pulumi config set --stack "$stack" --path fleet:repository.create true
pulumi config set --stack "$stack" --path 'fleet:tenants[0].name' e2e-team

pulumi up --stack "$stack" --yes --skip-preview

pulumi stack output --stack "$stack" --show-secrets kubeconfig >"$kubeconfig"
echo "e2e: waiting for nodes"
kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready nodes --all --timeout=300s
if kubectl --kubeconfig "$kubeconfig" get crd fluxinstances.fluxcd.controlplane.io >/dev/null 2>&1; then
  echo "e2e: waiting for Flux"
  kubectl --kubeconfig "$kubeconfig" -n flux-system wait --for=condition=Ready fluxinstance/flux --timeout=600s
fi

echo "e2e: second pulumi up must change nothing"
pulumi preview --stack "$stack" --expect-no-changes

pulumi destroy --stack "$stack" --yes --skip-preview
if kind get clusters | grep -qx "$cluster"; then
  echo "e2e: FAILED - kind cluster $cluster still exists after destroy" >&2
  exit 1
fi
echo "e2e: PASSED"
