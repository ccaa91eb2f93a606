/**
 * A stack's state, as the commands read it: `pulumi stack export` (pulumi on PATH, or $PULUMI),
 * or a file of its output.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The resource types the commands that edit a state (recover, adopt) decide about. */
export const TYPES = {
  deployKey: "github:index/repositoryDeployKey:RepositoryDeployKey",
  repository: "github:index/repository:Repository",
  branchDefault: "github:index/branchDefault:BranchDefault",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  fluxInstance: "kubernetes:fluxcd.controlplane.io/v1:FluxInstance",
  kindCluster: "pulumi-nodejs:dynamic/fleet:KindCluster",
  tlsKey: "tls:index/privateKey:PrivateKey",
} as const;

/** A resource's name: the last part of its URN. */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The URN of a provider reference (`<urn>::<id>`), as a resource's `provider` names it. */
export function referencedUrn(reference: string): string {
  return reference.slice(0, reference.lastIndexOf("::"));
}

/** Runs the Pulumi CLI (on PATH, or $PULUMI) and captures its output; `input` goes to its stdin. */
export function pulumiCli(args: readonly string[], env: NodeJS.ProcessEnv, input?: string) {
  return spawnSync(env.PULUMI ?? "pulumi", args, { env, encoding: "utf8", maxBuffer: 512 * 1024 * 1024, ...(input !== undefined ? { input } : {}) });
}

/** One resource of a `pulumi stack export` deployment, as far as the commands read it. */
export interface StateResource {
  readonly type: string;
  readonly urn: string;
  readonly custom?: boolean;
  readonly id?: string;
  readonly inputs?: Record<string, any>;
  readonly outputs?: Record<string, any>;
}

/** An operation the engine began and never saw end (`pending_operations`): `creating`, `updating`, `deleting`… */
export interface PendingOperation {
  readonly type: string;
  readonly resource: StateResource;
}

export interface Deployment {
  readonly resources?: readonly StateResource[];
  readonly pending_operations?: readonly PendingOperation[];
}

/**
 * `env` with scripts/up.sh's default backend: the local file backend ~/.pulumi-fleet unless
 * PULUMI_BACKEND_URL names one, or PULUMI_ACCESS_TOKEN says Pulumi Cloud (CI gives an empty
 * PULUMI_BACKEND_URL for an unset secret, which the CLI reads as Pulumi Cloud too).
 */
export function withBackend(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.PULUMI_BACKEND_URL || env.PULUMI_ACCESS_TOKEN) return env;
  return { ...env, PULUMI_BACKEND_URL: `file://${path.join(os.homedir(), ".pulumi-fleet")}` };
}

/** The stack's exported state, whole (`{version, deployment}`): from `file` when given, else `pulumi stack export --stack <stack>`. */
export function exportedState(stack: string, env: NodeJS.ProcessEnv = withBackend(process.env), file?: string): { version?: number; deployment: Deployment } {
  let text: string;
  if (file) {
    text = fs.readFileSync(file, "utf8");
  } else {
    const r = pulumiCli(["stack", "export", "--stack", stack], env);
    if (r.status !== 0) throw new Error(`pulumi stack export --stack ${stack} failed: ${r.error?.message ?? r.stderr.trim()}`);
    text = r.stdout;
  }
  const state = JSON.parse(text) as { version?: number; deployment?: Deployment };
  return { ...state, deployment: state.deployment ?? {} };
}

/** The stack's deployment (exportedState's). */
export function exportedDeployment(stack: string, file?: string, env: NodeJS.ProcessEnv = withBackend(process.env)): Deployment {
  return exportedState(stack, env, file).deployment;
}

/** `github:owner`, as the GitHub provider in state has it. */
export function githubOwner(deployment: Deployment): string | undefined {
  const provider = (deployment.resources ?? []).find((r) => r.type === "pulumi:providers:github");
  const owner = provider?.outputs?.owner ?? provider?.inputs?.owner;
  return typeof owner === "string" && owner !== "" ? owner : undefined;
}

/** The stack's outputs (`pulumi stack output --json --show-secrets`): what the program exports, secrets in the clear. */
export function stackOutputs(stack: string, env: NodeJS.ProcessEnv = withBackend(process.env)): Record<string, any> {
  const r = pulumiCli(["stack", "output", "--json", "--show-secrets", "--stack", stack], env);
  if (r.status !== 0) throw new Error(`pulumi stack output --stack ${stack} failed: ${r.error?.message ?? r.stderr.trim()}`);
  return JSON.parse(r.stdout || "{}");
}

/** kubectl's `--kubeconfig`/`--context` for a stack's outputs `kubeconfig` (written to a file in `dir`) and `context`; none without a kubeconfig. */
export function clusterArgs(stack: string, out: { kubeconfig?: string; context?: string }, dir: string): string[] {
  if (!out.kubeconfig) return [];
  const file = path.join(dir, `${stack}.kubeconfig`);
  fs.writeFileSync(file, out.kubeconfig, { mode: 0o600 });
  return ["--kubeconfig", file, ...(out.context ? ["--context", out.context] : [])];
}

/** kubectl's `--kubeconfig`/`--context` from a command's own flags; undefined when it was given neither. */
export function flagCluster(given: { kubeconfig?: string; context?: string }): string[] | undefined {
  if (!given.kubeconfig && !given.context) return undefined;
  return [...(given.kubeconfig ? ["--kubeconfig", given.kubeconfig] : []), ...(given.context ? ["--context", given.context] : [])];
}

/**
 * kubectl's `--kubeconfig`/`--context` for a stack's cluster: those `given` (the command's own
 * flags) when it has either, else the stack's outputs (clusterArgs); none when the stack has no
 * outputs yet (never brought up, or a first up cut off before it wrote them) or does not exist.
 * Any other failure to read them (a wrong passphrase, a backend that does not answer) is thrown: no
 * caller may take it for "no cluster".
 */
export function stackCluster(stack: string, env: NodeJS.ProcessEnv, dir: string, given: { kubeconfig?: string; context?: string } = {}): string[] {
  const flags = flagCluster(given);
  if (flags) return flags;
  let out: { kubeconfig?: string; context?: string };
  try {
    out = stackOutputs(stack, env);
  } catch (e) {
    if (/no stack named/i.test((e as Error).message)) return [];
    throw e;
  }
  return clusterArgs(stack, out, dir);
}

/** A stack's config as `pulumi config --json --show-secrets` prints it: secrets in the clear. */
export type StackConfigValues = Record<string, { value?: string; objectValue?: any }>;

/** The stack's config, secrets in the clear; `withConfig` is `--config-file FILE` when the stack's file is elsewhere. */
export function stackConfigValues(stack: string, env: NodeJS.ProcessEnv, withConfig: readonly string[] = []): StackConfigValues {
  const r = pulumiCli(["config", "--json", "--show-secrets", "--stack", stack, ...withConfig], env);
  if (r.status !== 0) throw new Error(`pulumi config --stack ${stack} failed: ${r.error?.message ?? r.stderr.trim()}`);
  return JSON.parse(r.stdout) as StackConfigValues;
}

/**
 * kubectl's `--kubeconfig`/`--context` for the cluster a stack's config names (`fleet:kubeconfig`,
 * written to a file in `dir`, and `fleet:cluster.context`): what a stack with no state yet has.
 * `kind` for a kind stack; undefined when the kubeconfig is not set.
 */
export function configuredCluster(config: StackConfigValues, dir: string): string[] | "kind" | undefined {
  const cluster = config["fleet:cluster"]?.objectValue ?? {};
  if (cluster.type !== "kubeconfig") return "kind";
  const kubeconfig = config["fleet:kubeconfig"]?.value;
  if (!kubeconfig) return undefined;
  const file = path.join(dir, "config.kubeconfig");
  fs.writeFileSync(file, kubeconfig, { mode: 0o600 });
  return ["--kubeconfig", file, ...(cluster.context ? ["--context", cluster.context] : [])];
}
