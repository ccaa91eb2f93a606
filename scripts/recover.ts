/**
 * npm run recover -- <stack> [--state FILE] [--config-file FILE] [--kubeconfig FILE] [--context NAME] [--dry-run | --check] [-- <pulumi refresh flags>]
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
 * Then it writes the plan into the state (applyPlan: Pulumi's own `--import-pending-creates` does
 * not import, below) with `pulumi stack import`, and refreshes through scripts/up.sh, so the refresh
 * guard checks first that GITHUB_TOKEN sees every repository; the refresh reads each imported
 * resource and settles pending updates and deletes. The `up` after it converges.
 *
 * --dry-run prints what it would do. --check only says whether the stack has pending creates
 * (exit 1, with the command to run), or holds no FluxInstance while the cluster its config names
 * already runs one (a lost state: exit 1, naming `npm run adopt`; --config-file when the stack's
 * file is elsewhere): scripts/up.sh runs it before every `up`.
 * Exit status: 0 nothing pending, or recovered; 1 pending creates or a lost state (--check), or the refresh failed;
 * 2 it could not run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fetchGitHub, repositoryExists } from "../components/github/client";
import { deployKeyWithPublicKey } from "../components/github/pending-key";
import { DEFAULTS } from "../components/config";
import { commandArgs, flagValue } from "./lib/args";
import { kubectlJson, KubeTarget, objectExists, unknownKind } from "./lib/kubectl";
import { configuredCluster, Deployment, exportedState, githubOwner, PendingOperation, stackCluster, StackConfigValues, stackConfigValues, TYPES, urnName, withBackend } from "./lib/state";

const { deployKey: DEPLOY_KEY, kindCluster: KIND_CLUSTER, helmRelease: HELM_RELEASE, repository: REPOSITORY, fluxInstance: FLUX_INSTANCE } = TYPES;

/**
 * The GitHub REST fields of the provider's repository inputs that creation sets and an adopted
 * repository never gets (components/github/repository.ts, CREATION_ONLY): terraform-provider-github
 * v6.13.0 resource_github_repository.go, resourceGithubRepositoryObject.
 */
const SETTINGS: Readonly<Record<string, string>> = {
  description: "description", homepageUrl: "homepage", hasIssues: "has_issues", hasDiscussions: "has_discussions",
  hasProjects: "has_projects", hasWiki: "has_wiki", hasDownloads: "has_downloads", isTemplate: "is_template",
  allowMergeCommit: "allow_merge_commit", allowSquashMerge: "allow_squash_merge", allowRebaseMerge: "allow_rebase_merge",
  allowAutoMerge: "allow_auto_merge", allowUpdateBranch: "allow_update_branch", deleteBranchOnMerge: "delete_branch_on_merge",
  squashMergeCommitTitle: "squash_merge_commit_title", squashMergeCommitMessage: "squash_merge_commit_message",
  mergeCommitTitle: "merge_commit_title", mergeCommitMessage: "merge_commit_message",
};

/** The PATCH body of a pending repository create's settings: each input the provider would have set after creating it. */
export function creationSettings(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(SETTINGS).filter(([k]) => typeof inputs[k] === "boolean" || (typeof inputs[k] === "string" && inputs[k] !== "")).map(([k, field]) => [field, inputs[k]]));
}

/** What to do with one pending operation; `ask`: nothing can be decided, so nothing is done (the why says what to do). */
export type Resolution =
  | { readonly urn: string; readonly action: "import"; readonly id: string; readonly why: string }
  | { readonly urn: string; readonly action: "settle"; readonly repository: { readonly owner: string; readonly name: string }; readonly settings: Record<string, unknown>; readonly why: string }
  | { readonly urn: string; readonly action: "clear" | "refresh" | "ask"; readonly why: string };

/** A Kubernetes object, or a Helm release, that a pending create may have made. */
export type { KubeTarget };

export interface Lookups {
  /** The repository's deploy key with this public key, if GitHub has one. */
  deployKey(owner: string, repository: string, publicKey: string): Promise<{ readonly id: number; readonly title: string } | undefined>;
  /** Whether the cluster has it; a string when the cluster could not be asked (why). */
  kubeExists(target: KubeTarget): boolean | string;
  /** Whether kind has a cluster of this name; a string when kind could not be asked (why). */
  kindExists(name: string): boolean | string;
  /** Whether GitHub has the repository. */
  repositoryExists(owner: string, name: string): Promise<boolean>;
}

/** Pulumi's marker of a secret value in an exported state (what `pulumi stack export` writes without --show-secrets). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A plain string input, or a clear error: a secret or missing one cannot be matched against GitHub or the cluster. */
function plain(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && SECRET_SIG in value) throw new Error(`${what} is a secret in the exported state; this command cannot match it`);
  throw new Error(`${what} is missing from the pending create`);
}

/** Why the next `up` may create a cleared pending create again, by resource type. */
const CLEARED: Readonly<Record<string, string>> = {
  "tls:index/privateKey:PrivateKey": "made on this machine, nothing outside state: the next up makes a new key pair",
  "github:index/teamRepository:TeamRepository": "a grant is a PUT: the next up sets it again",
  "github:index/branchDefault:BranchDefault": "setting the default branch again changes nothing",
  "pulumi-nodejs:dynamic/fleet:ScaffoldFile": "the next up reads the file and writes it only when it is missing",
  // A stack made before the branch wait became a wait in the program (components/github/branch-exists.ts).
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
  if (op.type !== "creating") return { urn, action: "refresh", why: `a pending operation (${op.type}): the refresh reads the resource as it is now` };
  // A later up made it after all (the engine keeps an old pending create in every snapshot, backend/snapshot.go).
  if ((deployment.resources ?? []).some((r) => r.urn === urn)) return { urn, action: "clear", why: "a later up made it: it is in the state already" };
  if (type === DEPLOY_KEY) {
    const owner = githubOwner(deployment);
    if (!owner) throw new Error("the state names no github:owner on its GitHub provider, so the deploy key cannot be looked up");
    const found = await lookups.deployKey(owner, plain(inputs.repository, `${urn}: repository`), plain(inputs.key, `${urn}: key`));
    return found
      ? { urn, action: "import", id: `${inputs.repository}:${found.id}`, why: `GitHub holds this public key as ${owner}/${inputs.repository}'s deploy key ${found.id} ("${found.title}"): imported, not made again (GitHub refuses a key twice)` }
      : { urn, action: "clear", why: `GitHub holds no deploy key with this public key in ${owner}/${inputs.repository}: the create never reached it` };
  }
  if (type.startsWith("kubernetes:") && !type.endsWith("Patch")) {
    const target: KubeTarget =
      type === HELM_RELEASE
        ? { helmRelease: plain(inputs.name, `${urn}: name`), namespace: inputs.namespace === undefined ? "default" : plain(inputs.namespace, `${urn}: namespace`) }
        : {
            apiVersion: plain(inputs.apiVersion, `${urn}: apiVersion`),
            kind: plain(inputs.kind, `${urn}: kind`),
            name: plain(inputs.metadata?.name, `${urn}: metadata.name`),
            ...(inputs.metadata?.namespace !== undefined ? { namespace: plain(inputs.metadata.namespace, `${urn}: metadata.namespace`) } : {}),
          };
    const name = "helmRelease" in target ? target.helmRelease : target.name;
    const id = target.namespace ? `${target.namespace}/${name}` : name;
    const exists = lookups.kubeExists(target);
    if (exists === true) return { urn, action: "import", id, why: `the cluster has ${id}: imported (pulumi-kubernetes 4.29 and later answer AlreadyExists to a second create)` };
    if (exists === false) return { urn, action: "clear", why: `the cluster has no ${id}: the create never reached it` };
    return { urn, action: "ask", why: `the cluster could not be asked (${exists}): give the stack's cluster with --kubeconfig and --context, and run this again` };
  }
  if (type === KIND_CLUSTER) {
    // KindProvider.create refuses a cluster that exists but is not in state (components/cluster/kind.ts),
    // and read(name) takes it back.
    const name = plain(inputs.name, `${urn}: name`);
    const exists = lookups.kindExists(name);
    if (exists === true) return { urn, action: "import", id: name, why: `kind has the cluster ${name}: imported (the next up would refuse to create it again)` };
    if (exists === false) return { urn, action: "clear", why: `kind has no cluster ${name}: the create never got far enough` };
    return { urn, action: "ask", why: `kind could not be asked (${exists}): run this where kind is on PATH` };
  }
  if (type === REPOSITORY) {
    // The provider creates (or generates) the repository, then PATCHes its settings; a run cut off
    // between the two leaves GitHub's defaults, and the next up adopts the repository with its
    // creation-only settings ignored. So they are set here, from the pending create's own inputs.
    const owner = githubOwner(deployment);
    if (!owner) throw new Error("the state names no github:owner on its GitHub provider, so the repository cannot be looked up");
    const name = plain(inputs.name, `${urn}: name`);
    if (!(await lookups.repositoryExists(owner, name))) return { urn, action: "clear", why: `GitHub has no ${owner}/${name}: the next up creates it` };
    const settings = creationSettings(inputs);
    return { urn, action: "settle", repository: { owner, name }, settings, why: `GitHub has ${owner}/${name}, made by this stack's cut-off run: its creation settings (${Object.keys(settings).join(", ") || "none"}) are set now, which the next up, adopting it, would not` };
  }
  if (type.startsWith("kubernetes:")) return { urn, action: "clear", why: "a server-side apply: the next up applies it again" };
  return { urn, action: "clear", why: CLEARED[type] ?? "the next up creates it again" };
}

/**
 * The state with the plan carried out: each import becomes a resource of the state, with the ID
 * found and the pending create's own inputs (a refresh then reads its outputs); each clear is
 * dropped; pending updates and deletes stay for the refresh. Pulumi's own `pulumi refresh
 * --import-pending-creates` only marks the operation `importing`, and the engine of the CLI the
 * rig runs (v3.274.1) never acts on that mark: the snapshot keeps pending creates only
 * (backend/snapshot.go), so the import is dropped and the next `up` creates the key again (seen on
 * the rig). So the command edits the exported state and imports it (`pulumi stack import`).
 */
export function applyPlan(exported: { deployment: Deployment }, plan: readonly Resolution[]): { deployment: Deployment } {
  const byUrn = new Map(plan.map((r) => [r.urn, r]));
  const pending = exported.deployment.pending_operations ?? [];
  const imported = pending
    .filter((op) => op.type === "creating" && byUrn.get(op.resource.urn)?.action === "import")
    .map((op) => {
      const r = byUrn.get(op.resource.urn) as Extract<Resolution, { action: "import" }>;
      return { ...op.resource, custom: true, id: r.id, outputs: { ...(op.resource.outputs ?? {}), ...(op.resource.inputs ?? {}) } };
    });
  const kept = pending.filter((op) => op.type !== "creating" || byUrn.get(op.resource.urn)?.action === "ask");
  return { ...exported, deployment: { ...exported.deployment, resources: [...(exported.deployment.resources ?? []), ...imported], pending_operations: kept } };
}

/**
 * Why an `up` of a stack whose state holds no FluxInstance would go wrong on this cluster: it
 * already runs a fleet (a FluxInstance), so the state was lost (or the config names another
 * fleet's cluster), and every key pair would be made anew (GitHub keeping the old deploy keys beside
 * the new) and every object met (AlreadyExists). `instances` are the cluster's FluxInstances
 * (`<namespace>/<name>`), or why they could not be listed.
 */
export function liveFleetOnEmptyState(stack: string, deployment: Deployment, instances: readonly string[] | string): string | undefined {
  if (holdsType(deployment, FLUX_INSTANCE) || typeof instances === "string" || instances.length === 0) return undefined;
  return (
    `stack ${stack} holds no FluxInstance in its state, but its cluster already runs a fleet (FluxInstance ${instances.join(", ")}): ` +
    "an up would make every key pair anew and meet every object there. If this stack's state was lost: " +
    `npm run adopt -- ${stack} (docs/operations.md, "Recovering"). If the cluster is another fleet's, point fleet:kubeconfig at this stack's own.`
  );
}

/** Whether the state holds a resource of `type`. */
function holdsType(deployment: Deployment, type: string): boolean {
  return (deployment.resources ?? []).some((r) => r.type === type);
}

/** Whether kind has a cluster of this name; a string when kind could not be asked (why). */
function kindExists(name: string, env: NodeJS.ProcessEnv): boolean | string {
  const r = spawnSync(env.KIND ?? "kind", ["get", "clusters"], { env, encoding: "utf8" });
  if (r.error || r.status !== 0) return `kind get clusters: ${r.error?.message ?? r.stderr.trim()}`;
  return r.stdout.split("\n").map((l) => l.trim()).includes(name);
}

/** Lookups against GitHub (GITHUB_TOKEN), the cluster (kubectl) and kind. */
function liveLookups(kubectlArgs: readonly string[], env: NodeJS.ProcessEnv): Lookups {
  return {
    deployKey: (owner, repository, key) => deployKeyWithPublicKey(owner, repository, key),
    kubeExists: (target) => objectExists(kubectlArgs, target, env),
    repositoryExists: (owner, name) => repositoryExists(owner, name),
    kindExists: (name) => kindExists(name, env),
  };
}


/**
 * --check on a state that holds no FluxInstance: the cluster its config names is asked for one
 * (liveFleetOnEmptyState); for a kind stack, kind for a cluster of its name that the state does
 * not hold. What cannot be asked is said, and does not stop the up (which meets it itself).
 */
function emptyStateCheck(stack: string, deployment: Deployment, env: NodeJS.ProcessEnv, withConfig: readonly string[]): number {
  if (holdsType(deployment, FLUX_INSTANCE)) return 0;
  const note = (why: string) => {
    console.error(`recover: could not check that stack ${stack}'s cluster runs no fleet its state lacks (${why}); going on`);
    return 0;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-check-"));
  try {
    let config: StackConfigValues;
    try {
      config = stackConfigValues(stack, env, withConfig);
    } catch (e) {
      return note((e as Error).message.split("\n")[0]);
    }
    const cluster = configuredCluster(config, dir);
    if (cluster === undefined) return 0; // no fleet:kubeconfig: the up says so itself
    if (cluster === "kind") {
      const name: string = config["fleet:cluster"]?.objectValue?.name ?? DEFAULTS.clusterName(stack);
      if (holdsType(deployment, KIND_CLUSTER)) return 0;
      const exists = kindExists(name, env);
      if (typeof exists === "string") return note(exists);
      if (!exists) return 0;
      console.error(
        `stack ${stack} holds no kind cluster in its state, but kind has one named ${name}: an up would make every key pair anew before kind refuses it. ` +
          `If this stack's state was lost, adopt the cluster as an existing one (docs/operations.md, "Recovering", a lost state); else delete it: kind delete cluster --name ${name}`,
      );
      return 1;
    }
    let instances: string[];
    try {
      instances = (kubectlJson([...cluster, "get", "fluxinstances.fluxcd.controlplane.io", "--all-namespaces"], env).items as any[]).map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
    } catch (e) {
      const message = (e as Error).message;
      // No FluxInstance CRD: no fleet runs there yet.
      if (unknownKind(message)) return 0;
      return note(message.split("\n")[0]);
    }
    const problem = liveFleetOnEmptyState(stack, deployment, instances);
    if (!problem) return 0;
    console.error(problem);
    return 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const usage = "usage: npm run recover -- <stack> [--state FILE] [--config-file FILE] [--kubeconfig FILE] [--context NAME] [--dry-run | --check] [-- <pulumi refresh flags>]";
  const split = argv.indexOf("--");
  const [own, passed] = split < 0 ? [argv, []] : [argv.slice(0, split), argv.slice(split + 1)];
  const { positional: stack, problem } = commandArgs(own, usage, ["--state", "--config-file", "--kubeconfig", "--context"], ["--dry-run", "--check"]);
  if (!stack || problem) {
    console.error(problem);
    return 2;
  }
  const env = withBackend(process.env);
  const stateFile = flagValue(own, "--state", usage);
  const state = exportedState(stack, env, stateFile);
  const deployment = state.deployment;
  const pending = deployment.pending_operations ?? [];
  // `importing`: what `pulumi refresh --import-pending-creates` leaves when cut off; an up would create them again.
  const creates = pending.filter((op) => op.type === "creating" || op.type === "importing");
  if (own.includes("--check")) {
    const configFile = flagValue(own, "--config-file", usage);
    if (creates.length === 0) return emptyStateCheck(stack, deployment, env, configFile ? ["--config-file", configFile] : []);
    console.error(
      `stack ${stack} has ${creates.length} pending create(s) from an interrupted run (${creates.map((op) => urnName(op.resource.urn)).join(", ")}). ` +
        `An up now would make them again, and GitHub refuses a deploy key twice. Run: npm run recover -- ${stack}`,
    );
    return 1;
  }
  if (pending.length === 0) {
    console.log(`recover: stack ${stack} has no pending operation`);
    return 0;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-recover-"));
  try {
    const kubeconfig = flagValue(own, "--kubeconfig", usage);
    const context = flagValue(own, "--context", usage);
    // The flags, else the stack's own cluster from its outputs, else KUBECONFIG's current context.
    const cluster = stackCluster(stack, env, dir, { kubeconfig, context });
    const plan = await planRecovery(deployment, liveLookups(cluster, env));
    console.log(`recover: stack ${stack} has ${pending.length} pending operation(s):`);
    for (const r of plan) console.log(`  ${r.action}${r.action === "import" ? ` as ${r.id}` : ""}: ${r.urn}\n      ${r.why}`);
    if (plan.some((r) => r.action === "ask")) {
      console.error("recover: nothing done: some pending creates could not be decided (ask, above); do what each says and run this again");
      return 2;
    }
    const args = ["--refresh-only", stack, "--yes", "--skip-preview", "--non-interactive", ...passed];
    if (own.includes("--dry-run")) {
      console.log(`recover: --dry-run: would import the state with the plan carried out, then run scripts/up.sh ${args.join(" ")}`);
      return 0;
    }
    // A cut-off repository's creation settings, before the state is written: a PATCH that fails
    // stops here with the state as it was.
    for (const r of plan) {
      if (r.action !== "settle" || Object.keys(r.settings).length === 0) continue;
      const answer = await fetchGitHub("PATCH", `/repos/${encodeURIComponent(r.repository.owner)}/${encodeURIComponent(r.repository.name)}`, r.settings);
      if (answer.status !== 200) {
        console.error(`recover: GitHub answered ${answer.status} to the settings of ${r.repository.owner}/${r.repository.name} (${JSON.stringify(answer.body).slice(0, 200)}); nothing else was done`);
        return 1;
      }
      console.log(`recover: ${r.repository.owner}/${r.repository.name}: creation settings set (${Object.keys(r.settings).join(", ")})`);
    }
    const file = path.join(dir, "state.json");
    // The state exported above, unless it came from --state: then the stack's own, as it is now.
    fs.writeFileSync(file, JSON.stringify(applyPlan(stateFile ? exportedState(stack, env) : state, plan)), { mode: 0o600 });
    const imported = spawnSync(env.PULUMI ?? "pulumi", ["stack", "import", "--stack", stack, "--file", file], { stdio: "inherit", env });
    if (imported.status !== 0) {
      console.error(`recover: pulumi stack import failed (exit ${imported.status ?? imported.signal}); the state is as it was. A stale lock says to run pulumi cancel first.`);
      return 1;
    }
    console.log(`recover: state imported with the plan carried out; now scripts/up.sh ${args.join(" ")} reads every imported resource`);
    const r = spawnSync("bash", [path.join(__dirname, "up.sh"), ...args], { stdio: "inherit", env });
    if (r.status !== 0) {
      console.error(`recover: the refresh failed (exit ${r.status ?? r.signal}); the plan is in the state already: fix what it says and run npm run refresh -- ${stack}.`);
      return 1;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
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
