#!/usr/bin/env bash
# `pulumi up` of one stack (default: staging). State goes to a local file backend under
# ~/.pulumi-fleet unless PULUMI_BACKEND_URL names another (s3://, azblob://, gs://, https://api.pulumi.com).
# Extra arguments go to `pulumi up` (e.g. --yes, --diff).
set -euo pipefail
cd "$(dirname "$0")/.."
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
pulumi up --stack "$stack" "$@"
