/**
 * npm run render -- <stack> [--out DIR] [--diff <git-ref>]
 *
 * Evaluates the program with Pulumi.<stack>.yaml under Pulumi's mocks, with no network and no
 * credentials, and prints the desired state: every Kubernetes object as multi-document YAML,
 * grouped by component in a stable order, with GitHub repositories, deploy keys and files (and
 * the cluster, the Helm release) summarised as YAML comments. Secret values are redacted;
 * values only known after `pulumi up` (keys, kubeconfigs) are shown as such.
 *
 * --out DIR      also write one file per component into DIR
 * --diff REF     render the stack at git REF (through a temporary worktree) and at the working
 *                tree, and print a unified diff; nothing when they are equal. A stack whose file
 *                is absent at REF (a new stack) diffs as all added; one whose file is gone from the
 *                working tree (a removed stack) as all removed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { flagValue } from "./lib/args";
import { REPO_ROOT, Registered, isKubernetesObject, mapWireLeaves, runProgram, stackConfigAt } from "./lib/evaluate";
import { stackFiles } from "./lib/stacks";

export const REDACTED = "[secret]";
export const AFTER_APPLY = "(known after apply)";

/** One component's part of the render. */
export interface RenderedGroup {
  /** `cluster`, `flux`, `fleet-repository`, `admission-policies`, `tenant-<name>`. */
  readonly name: string;
  readonly text: string;
}

/**
 * Replaces secret values with `[secret]` (keeping a secret object's keys) and unknowns with
 * `(known after apply)`; drops Pulumi's markers.
 */
export function presentable(value: unknown): unknown {
  return mapWireLeaves(value, (leaf, inSecret) => (inSecret ? REDACTED : leaf === rpc.unknownValue ? AFTER_APPLY : leaf));
}

const KIND_ORDER = [
  "Namespace", "ServiceAccount", "RoleBinding", "Secret", "ResourceQuota", "LimitRange", "NetworkPolicy",
  "FluxInstance", "GitRepository", "Kustomization",
];

function rank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

/** The top-level component a resource belongs to. */
function rootOf(byUrn: Map<string, Registered>, r: Registered): Registered {
  let node = r;
  while (node.parent && byUrn.has(node.parent)) node = byUrn.get(node.parent)!;
  return node;
}

function groupName(root: Registered): string {
  switch (root.type) {
    case "fleet:cluster:Cluster":
      return "cluster";
    case "fleet:flux:Flux":
      return "flux";
    case "fleet:repository:Repository":
      return `${root.name}-repository`;
    case "fleet:tenant:Tenant":
      return `tenant-${root.name}`;
    case "fleet:policy:AdmissionPolicies":
      return "admission-policies";
    default:
      return root.name;
  }
}

function groupOrder(name: string): string {
  const fixed = ["cluster", "flux", "fleet-repository", "admission-policies"];
  return fixed.includes(name) ? `${fixed.indexOf(name)}` : `9-${name}`;
}

/** A YAML comment line for everything that is not a Kubernetes object. */
function summary(r: Registered, owner: string): string | undefined {
  const i = presentable(r.rawInputs) as Record<string, any>;
  switch (r.type) {
    case "pulumi-nodejs:dynamic/fleet:KindCluster":
      return `# kind cluster ${i.name}: 1 control plane + ${i.workers} worker(s)${i.nodeImage ? `, image ${i.nodeImage}` : ""}`;
    case "pulumi:providers:kubernetes":
      return `# kubernetes provider ${r.name}${i.context ? ` (context ${i.context})` : ""}`;
    case "kubernetes:helm.sh/v3:Release":
      return `# helm release ${i.name}: ${i.chart} ${i.version} in namespace ${i.namespace}`;
    case "github:index/repository:Repository":
      return `# github repository ${owner}/${i.name}: created by this stack (${i.visibility}${i.template ? `, generated from ${i.template.owner}/${i.template.repository}` : ""}${i.isTemplate ? ", a template" : ""}, kept on destroy)`;
    case "github:index/teamRepository:TeamRepository":
      return `# github team ${String(i.teamId).replace(/^team-/, "")} gets ${i.permission} on ${owner}/${i.repository}`;
    case "github:index/branchDefault:BranchDefault":
      return `# github default branch of ${owner}/${i.repository}: ${i.branch}`;
    case "github:index/repositoryDeployKey:RepositoryDeployKey":
      return `# github deploy key ${i.title} on ${owner}/${i.repository} (${i.readOnly ? "read-only" : "READ-WRITE"})`;
    case "pulumi-nodejs:dynamic/fleet:ScaffoldFile":
      return `# github file ${owner}/${i.repository}@${i.branch}: ${i.path} (written once, when absent)`;
    case "tls:index/privateKey:PrivateKey":
      return `# deploy key pair ${r.name}: ${i.algorithm}${i.ecdsaCurve ? ` ${i.ecdsaCurve}` : ""}`;
    default:
      return undefined;
  }
}

/** Renders one stack's program from `root` (a checkout) under mocks. */
export async function renderStack(options: {
  readonly stack: string;
  /** Checkout whose index.ts and Pulumi.<stack>.yaml are used. @default this checkout */
  readonly root?: string;
  /** Config to use instead of the stack file's. */
  readonly config?: Record<string, unknown>;
}): Promise<RenderedGroup[]> {
  const root = options.root ?? REPO_ROOT;
  const { config, secretKeys } = options.config ? { config: options.config, secretKeys: [] } : stackConfigAt(root, options.stack);
  const result = await runProgram({
    stack: options.stack,
    config,
    secretKeys,
    programPath: path.join(root, "index.ts"),
    preview: true,
    computed: false,
  });
  if (result.error) throw result.error;
  const owner = String(config["github:owner"] ?? "");

  const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
  const groups = new Map<string, { comments: string[]; objects: any[]; created: Set<string>; used: Set<string>; protect: number }>();
  for (const r of result.resources) {
    const root = rootOf(byUrn, r);
    if (r === root && !r.custom) continue; // the component itself
    const name = groupName(root);
    const group = groups.get(name) ?? { comments: [], objects: [], created: new Set<string>(), used: new Set<string>(), protect: 0 };
    groups.set(name, group);
    if (isKubernetesObject(r)) {
      group.objects.push(presentable(r.rawInputs));
      if (r.protect) group.protect++;
      continue;
    }
    const line = summary(r, owner);
    if (line) group.comments.push(line);
    if (r.type === "github:index/repository:Repository") group.created.add(String(r.inputs.name));
    if (r.type === "github:index/repositoryDeployKey:RepositoryDeployKey") group.used.add(String(r.inputs.repository));
  }
  for (const group of groups.values()) {
    for (const repo of group.used) {
      if (!group.created.has(repo)) group.comments.push(`# github repository ${owner}/${repo}: looked up (created by another stack, or pre-existing)`);
    }
    if (group.protect > 0) group.comments.push(`# protected: ${group.protect} Kubernetes objects; removing them fails until offboard: true`);
  }

  return [...groups.entries()]
    .sort(([a], [b]) => groupOrder(a).localeCompare(groupOrder(b)))
    .map(([name, group]) => {
      const objects = [...group.objects].sort(
        (a, b) =>
          rank(a.kind) - rank(b.kind) ||
          String(a.metadata?.namespace ?? "").localeCompare(String(b.metadata?.namespace ?? "")) ||
          String(a.metadata?.name).localeCompare(String(b.metadata?.name)),
      );
      const header = [`# ---- ${name} (stack ${options.stack}) ----`, ...[...group.comments].sort()];
      const docs = objects.map((o) => stringify(o, { sortMapEntries: true, lineWidth: 0 }));
      const text = `${header.join("\n")}\n${docs.length ? docs.join("---\n") : ""}`;
      return { name, text };
    });
}

/** The whole render as one multi-document YAML stream. */
export function joinGroups(groups: readonly RenderedGroup[]): string {
  return groups.map((g) => g.text).join("---\n");
}

/** Whether `Pulumi.<stack>.yaml` exists at git `ref`; fails when `ref` is not a commit. */
function stackFileAt(ref: string, stack: string, repo: string): boolean {
  const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  try {
    git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
  } catch {
    throw new Error(`${ref} is not a git commit in ${repo}`);
  }
  try {
    git("cat-file", "-e", `${ref}:Pulumi.${stack}.yaml`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Renders the stack as it is at git `ref`, through a temporary worktree that is always removed;
 * nothing (no groups) when `Pulumi.<stack>.yaml` does not exist at `ref`.
 */
export async function renderAtRef(ref: string, stack: string, repo = REPO_ROOT): Promise<RenderedGroup[]> {
  if (!stackFileAt(ref, stack, repo)) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-render-"));
  const worktree = path.join(dir, "tree");
  execFileSync("git", ["-C", repo, "worktree", "add", "--quiet", "--detach", worktree, ref], { stdio: ["ignore", "ignore", "pipe"] });
  try {
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(worktree, "node_modules"), "dir");
    return await renderStack({ stack, root: worktree });
  } finally {
    execFileSync("git", ["-C", repo, "worktree", "remove", "--force", worktree], { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A unified diff of two renders; "" when they are equal. */
export function unifiedDiff(before: string, after: string, beforeLabel: string, afterLabel: string): string {
  if (before === after) return "";
  return createTwoFilesPatch(beforeLabel, afterLabel, before, after, "", "", { context: 3 });
}

/**
 * The unified diff of the stack's render at git `ref` and in the working tree `root` (`rendered`,
 * when already rendered). A stack new since `ref` shows everything as added; a stack whose file
 * was deleted, everything as removed.
 * @throws when the stack file exists in neither
 */
export async function renderDiff(stack: string, ref: string, root = REPO_ROOT, rendered?: readonly RenderedGroup[]): Promise<string> {
  const here = fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`));
  const before = await renderAtRef(ref, stack, root);
  if (!here && before.length === 0) {
    throw new Error(`no Pulumi.${stack}.yaml in ${root} nor at ${ref}; stacks here: ${stackFiles(root).join(", ")}`);
  }
  const after = !here ? [] : (rendered ?? (await renderStack({ stack, root })));
  const label = (at: string, present: boolean) => `${stack}@${at}${present ? "" : ` (no Pulumi.${stack}.yaml)`}`;
  return unifiedDiff(joinGroups(before), joinGroups(after), label(ref, before.length > 0), label("working-tree", here));
}

async function main(argv: string[]): Promise<void> {
  const usage = "usage: npm run render -- <stack> [--out DIR] [--diff <git-ref>]";
  const stack = argv.find((a, i) => !a.startsWith("--") && !["--out", "--diff"].includes(argv[i - 1]));
  const flag = (name: string) => flagValue(argv, name, usage);
  if (!stack) throw new Error(usage);
  const out = flag("--out");
  const ref = flag("--diff");
  const here = fs.existsSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`));
  // With --diff, the stack may exist at one side only (added or removed); renderDiff checks both.
  if (!here && (!ref || out)) {
    throw new Error(`no Pulumi.${stack}.yaml in ${REPO_ROOT}; stacks here: ${stackFiles(REPO_ROOT).join(", ")}`);
  }

  const groups = here ? await renderStack({ stack }) : [];
  if (out) {
    fs.mkdirSync(out, { recursive: true });
    for (const g of groups) fs.writeFileSync(path.join(out, `${g.name}.yaml`), g.text);
  }
  process.stdout.write(ref ? await renderDiff(stack, ref, REPO_ROOT, groups) : joinGroups(groups));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`render: ${e.message}\n`);
    process.exit(1);
  });
}
