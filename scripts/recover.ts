/**
 * npm run recover -- <stack> [--state FILE] [--kubeconfig FILE] [--context NAME] [--dry-run | --check] [-- <pulumi refresh flags>]
 *
 * Settles what an interrupted `pulumi up` (a cancelled CI job, a lost runner, Ctrl-C twice, a
 * SIGKILL) left in the stack's state: the creates the engine began and never saw end
 * (`pending_operations` of type `creating`). The next `up` would create each again, and some of
 * those exist by then:
 * - a deploy key GitHub made: GitHub refuses the same public key twice (422 "key is already in
 *   use"), so every later `up` fails. It is found by its public key and imported.
 * - a Kubernetes object the API server made: pulumi-kubernetes 4.29 and later answer
 *   AlreadyExists. It is imported when kubectl finds it (KUBECONFIG, or --kubeconfig/--context).
 * Every other pending create is cleared, each with why the next `up` is right to make it again.
 * Then it runs Pulumi's own tool for this, `pulumi refresh --import-pending-creates … --clear-pending-creates`
 * (pulumi v3.274.1, pkg/cmd/pulumi/operations/refresh.go), through scripts/up.sh, so the refresh
 * guard checks first that GITHUB_TOKEN sees every repository. The refresh also settles pending
 * updates and deletes. The `up` after it converges.
 *
 * --dry-run prints what it would do. --check only says whether the stack has pending creates
 * (exit 1, with the command to run): scripts/up.sh runs it before every `up`.
 * Exit status: 0 nothing pending, or recovered; 1 pending creates (--check) or the refresh failed;
 * 2 it could not run.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { deployKeyWithPublicKey } from "../components/github/pending-key";
import { flagValue } from "./lib/args";
import { kubectlJson, resourceArg } from "./lib/kubectl";
import { Deployment, exportedDeployment, githubOwner, PendingOperation } from "./lib/state";

const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** What to do with one pending operation. */
export type Resolution =
  | { readonly urn: string; readonly action: "import"; readonly id: string; readonly why: string }
  | { readonly urn: string; readonly action: "clear" | "refresh"; readonly why: string };

/** A Kubernetes object, or a Helm release, that a pending create may have made. */
export type KubeTarget = { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace?: string } | { readonly helmRelease: string; readonly namespace: string };

export interface Lookups {
  /** The repository's deploy key with this public key, if GitHub has one. */
  deployKey(owner: string, repository: string, publicKey: string): Promise<{ readonly id: number; readonly title: string } | undefined>;
  /** Whether the cluster has it; a string when the cluster could not be asked (why). */
  kubeExists(target: KubeTarget): boolean | string;
}

/** Why the next `up` may create a cleared pending create again, by resource type. */
const CLEARED: Readonly<Record<string, string>> = {
  "tls:index/privateKey:PrivateKey": "made on this machine, nothing outside state: the next up makes a new key pair",
  "github:index/repository:Repository": "the next up finds the repository and adopts it (docs/operations.md, \"Adopting what already exists\")",
  "github:index/teamRepository:TeamRepository": "a grant is a PUT: the next up sets it again",
  "github:index/branchDefault:BranchDefault": "setting the default branch again changes nothing",
  "pulumi-nodejs:dynamic/fleet:ScaffoldFile": "the next up reads the file and writes it only when it is missing",
  "pulumi-nodejs:dynamic/fleet:BranchExists": "a wait: the next up waits again",
  "pulumi-nodejs:dynamic/fleet:BootstrapKeyRevocation": "a revocation: the next up revokes again, and a key already gone counts as revoked",
};

/** Each pending operation of the deployment, and what to do with it. */
export async function planRecovery(deployment: Deployment, lookups: Lookups): Promise<Resolution[]> {
  const out: Resolution[] = [];
  for (const op of deployment.pending_operations ?? []) {
    out.push(await resolve(op, deployment, lookups));
  }
  return out;
}

async function resolve(op: PendingOperation, deployment: Deployment, lookups: Lookups): Promise<Resolution> {
  const { urn, type } = op.resource;
  const inputs = op.resource.inputs ?? {};
  if (op.type !== "creating") return { urn, action: "refresh", why: `a pending ${op.type}: the refresh reads the resource as it is now` };
  if (type === DEPLOY_KEY) {
    const owner = githubOwner(deployment);
    if (!owner) throw new Error("the state names no github:owner on its GitHub provider, so the deploy key cannot be looked up");
    const found = await lookups.deployKey(owner, String(inputs.repository), String(inputs.key));
    return found
      ? { urn, action: "import", id: `${inputs.repository}:${found.id}`, why: `GitHub holds this public key as ${owner}/${inputs.repository}'s deploy key ${found.id} ("${found.title}"): imported, not made again (GitHub refuses a key twice)` }
      : { urn, action: "clear", why: `GitHub holds no deploy key with this public key in ${owner}/${inputs.repository}: the create never reached it` };
  }
  if (type.startsWith("kubernetes:") && !type.endsWith("Patch")) {
    const target: KubeTarget =
      type === HELM_RELEASE
        ? { helmRelease: String(inputs.name), namespace: String(inputs.namespace ?? "default") }
        : { apiVersion: String(inputs.apiVersion), kind: String(inputs.kind), name: String(inputs.metadata?.name), ...(inputs.metadata?.namespace ? { namespace: String(inputs.metadata.namespace) } : {}) };
    const name = "helmRelease" in target ? target.helmRelease : target.name;
    const id = target.namespace ? `${target.namespace}/${name}` : name;
    const exists = lookups.kubeExists(target);
    if (exists === true) return { urn, action: "import", id, why: `the cluster has ${id}: imported (pulumi-kubernetes 4.29 and later answer AlreadyExists to a second create)` };
    if (exists === false) return { urn, action: "clear", why: `the cluster has no ${id}: the create never reached it` };
    return { urn, action: "clear", why: `the cluster could not be asked (${exists}); cleared, so if the next up answers AlreadyExists for ${id}, run this again with --kubeconfig` };
  }
  if (type.startsWith("kubernetes:")) return { urn, action: "clear", why: "a server-side apply: the next up applies it again" };
  return { urn, action: "clear", why: CLEARED[type] ?? "the next up creates it again" };
}

/** The `pulumi refresh` flags that carry the plan out: each import as a URN and ID pair, then the rest cleared. */
export function refreshFlags(plan: readonly Resolution[]): string[] {
  const flags = plan.flatMap((r) => (r.action === "import" ? ["--import-pending-creates", r.urn, "--import-pending-creates", r.id] : []));
  return plan.some((r) => r.action === "clear") ? [...flags, "--clear-pending-creates"] : flags;
}

/** Lookups against GitHub (GITHUB_TOKEN) and the cluster (kubectl). */
function liveLookups(kubectlArgs: readonly string[]): Lookups {
  return {
    deployKey: (owner, repository, key) => deployKeyWithPublicKey(owner, repository, key),
    kubeExists(target) {
      try {
        const ns = target.namespace ? ["-n", target.namespace] : [];
        if ("helmRelease" in target) {
          // Helm keeps each release revision in a Secret labelled owner=helm, name=<release>.
          return kubectlJson([...kubectlArgs, "get", "secrets", ...ns, "-l", `owner=helm,name=${target.helmRelease}`], process.env).items.length > 0;
        }
        // With --ignore-not-found, a missing object is no output (kubectlJson: an empty list).
        return "metadata" in kubectlJson([...kubectlArgs, "get", resourceArg(target), target.name, ...ns, "--ignore-not-found"], process.env);
      } catch (e) {
        return (e as Error).message.split("\n")[0];
      }
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const usage = "usage: npm run recover -- <stack> [--state FILE] [--kubeconfig FILE] [--context NAME] [--dry-run | --check] [-- <pulumi refresh flags>]";
  const split = argv.indexOf("--");
  const [own, passed] = split < 0 ? [argv, []] : [argv.slice(0, split), argv.slice(split + 1)];
  const valued = ["--state", "--kubeconfig", "--context"];
  const stack = own.find((a, i) => !a.startsWith("--") && !valued.includes(own[i - 1]));
  if (!stack) {
    console.error(usage);
    return 2;
  }
  const deployment = exportedDeployment(stack, flagValue(own, "--state", usage));
  const pending = deployment.pending_operations ?? [];
  const creates = pending.filter((op) => op.type === "creating");
  if (own.includes("--check")) {
    if (creates.length === 0) return 0;
    console.error(
      `stack ${stack} has ${creates.length} pending create(s) from an interrupted run (${creates.map((op) => op.resource.urn.split("::").pop()).join(", ")}). ` +
        `An up now would make them again, and GitHub refuses a deploy key twice. Run: npm run recover -- ${stack}`,
    );
    return 1;
  }
  if (pending.length === 0) {
    console.log(`recover: stack ${stack} has no pending operation`);
    return 0;
  }
  const kubeconfig = flagValue(own, "--kubeconfig", usage);
  const context = flagValue(own, "--context", usage);
  const plan = await planRecovery(deployment, liveLookups([...(kubeconfig ? ["--kubeconfig", kubeconfig] : []), ...(context ? ["--context", context] : [])]));
  console.log(`recover: stack ${stack} has ${pending.length} pending operation(s):`);
  for (const r of plan) console.log(`  ${r.action}${r.action === "import" ? ` as ${r.id}` : ""}: ${r.urn}\n      ${r.why}`);
  const args = ["--refresh-only", stack, "--yes", "--skip-preview", ...refreshFlags(plan), ...passed];
  if (own.includes("--dry-run")) {
    console.log(`recover: --dry-run: would run scripts/up.sh ${args.join(" ")}`);
    return 0;
  }
  console.log(`recover: scripts/up.sh ${args.join(" ")}`);
  const r = spawnSync("bash", [path.join(__dirname, "up.sh"), ...args], { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`recover: the refresh failed (exit ${r.status ?? r.signal}); nothing after it ran. Read its message: a stale lock says to run pulumi cancel first.`);
    return 1;
  }
  console.log(`recover: done; now: npm run up -- ${stack}`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`recover: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
