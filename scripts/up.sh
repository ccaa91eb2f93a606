#!/usr/bin/env bash
# `pulumi up` of one stack (default: staging). State goes to a local file backend under
# ~/.pulumi-fleet unless PULUMI_BACKEND_URL names another (s3://, azblob://, gs://, https://api.pulumi.com).
# Extra arguments go to `pulumi up` (e.g. --yes, --diff). With --refresh among them, or as
# `scripts/up.sh --refresh-only <stack> [args]` (npm run refresh), scripts/refresh-guard.ts first
# checks that GITHUB_TOKEN sees every repository in the stack's state: a refresh would read a 404
# as "deleted" and drop them from state for good. Before an up, scripts/recover.ts --check stops on
# the pending creates an interrupted run left, and scripts/preflight.ts on a Flux upgrade that an
# API version still in use would break.
set -euo pipefail
cd "$(dirname "$0")/.."
refresh_only=false
if [ "${1:-}" = "--refresh-only" ]; then refresh_only=true; shift; fi
stack="${1:-staging}"
shift || true

for tool in pulumi; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH; install it: https://www.pulumi.com/docs/install/" >&2; exit 1; }
done
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$HOME/.pulumi-fleet"
  export PULUMI_BACKEND_URL="file://$HOME/.pulumi-fleet"
fi
if [[ "$PULUMI_BACKEND_URL" == file://* ]] && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "note: the local backend encrypts secrets with a passphrase; set PULUMI_CONFIG_PASSPHRASE to avoid the prompt" >&2
fi
[ -n "${GITHUB_TOKEN:-}" ] || echo "warning: GITHUB_TOKEN is not set; the GitHub provider needs a token with repo admin rights" >&2

echo "backend: $PULUMI_BACKEND_URL, stack: $stack" >&2
pulumi stack select --create "$stack"
guard=$refresh_only
config_file=()
prev=""
for arg in "$@"; do
  case "$arg" in --refresh|--refresh=true) guard=true ;; --config-file=*) config_file=(--config-file "${arg#--config-file=}") ;; esac
  [ "$prev" = "--config-file" ] && config_file=(--config-file "$arg")
  prev="$arg"
done
if $guard; then
  node -r ts-node/register scripts/refresh-guard.ts "$stack"
fi
if $refresh_only; then
  pulumi refresh --stack "$stack" "$@"
else
  # Pending creates of an interrupted run: an up would make them again, and GitHub refuses a deploy
  # key twice. This stops, naming `npm run recover -- <stack>` (scripts/recover.ts).
  # So does a state that holds no FluxInstance over a cluster that runs one: a lost state, which
  # `npm run adopt -- <stack>` rebuilds (scripts/adopt.ts).
  node -r ts-node/register scripts/recover.ts "$stack" --check "${config_file[@]}"
  # A Flux minor upgrade that an API version still stored or used would break: refused, naming
  # each object and tenant file (scripts/preflight.ts). Without a change of minor it only looks.
  node -r ts-node/register scripts/preflight.ts "$stack" "${config_file[@]}"
  pulumi up --stack "$stack" "$@"
fi
