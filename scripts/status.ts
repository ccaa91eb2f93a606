/**
 * npm run status -- [<stack>…] [--json]
 *
 * The fleet's tenants × clusters: for every stack (default: stacks.yaml's, in order), the state of
 * each tenant's sync on that stack's cluster, read through the stack's own outputs (`kubeconfig`,
 * `context`, `tenants`: `pulumi stack output --show-secrets`, pulumi on PATH) with kubectl.
 * A cell is the program's Kustomization of the tenant (label toolkit.fluxcd.io/tenant, in its first
 * namespace):
 * - **Ready**, **Failing** (Ready=False), **Stalled** (Stalled=True: no retry), **Progressing**
 *   (Reconciling=True, or not yet Ready), **Suspended** (`spec.suspend`), or **Missing** (the
 *   stack has the tenant and the cluster has no Kustomization);
 * - the revision it applied, against the head of the tenant's branch on GitHub (GITHUB_TOKEN;
 *   without one, the head is not asked): **behind** when they differ;
 * - how long it has been in that state (its Ready condition's last transition);
 * - the Kustomizations and HelmReleases the tenant made itself in its namespaces that are not
 *   Ready (suspended ones aside).
 * A table, or with --json an object. Exit status: 0 every cell Ready, Suspended or Progressing with
 * nothing of the tenant's own failing; 1 something is unhealthy (Failing, Stalled, Missing, one of
 * the tenant's own objects failing); 2 the status could not be read.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fetchGitHub, GitHubRequest, repositoryOf } from "../components/github/client";
import { TENANT_LABEL } from "../components/constants";
import { kubectlJson } from "./lib/kubectl";
import { readOrder } from "./lib/stacks";
import { stackOutputs } from "./lib/state";

export type State = "Ready" | "Failing" | "Stalled" | "Progressing" | "Suspended" | "Missing";

export interface Cell {
  readonly stack: string;
  readonly tenant: string;
  readonly state: State;
  /** The revision the Kustomization applied, e.g. `main@sha1:…`. */
  readonly applied?: string;
  /** The branch's head commit on GitHub, when asked. */
  readonly head?: string;
  readonly behind: boolean;
  /** Since when it is in this state (ISO time). */
  readonly since?: string;
  /** Ready's message (its first line), for a cell that is Failing or Stalled. */
  readonly message?: string;
  /** The tenant's own Kustomizations and HelmReleases that are not Ready: `Kind/namespace/name: message`. */
  readonly notReady: readonly string[];
}

/** What a stack's outputs say about its tenants: their names and namespaces. */
export interface StackTenants {
  readonly stack: string;
  readonly tenants: Readonly<Record<string, { readonly namespaces: readonly string[] }>>;
}

type Condition = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string };
export interface FluxObject {
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec?: { suspend?: boolean; url?: string; ref?: { branch?: string }; sourceRef?: { name: string } };
  status?: { conditions?: Condition[]; lastAppliedRevision?: string };
}

const condition = (o: FluxObject, type: string) => o.status?.conditions?.find((c) => c.type === type);

/**
 * A Flux object's state: suspended first, then Stalled, Ready. Ready=False is Failing unless a
 * reconciliation is in flight: a failed one keeps Reconciling=True with the reason
 * ProgressingWithRetry (kustomize-controller v1.9.4, internal/controller/kustomization_controller.go,
 * finalizeStatus), which is failing all the same.
 */
export function stateOf(o: FluxObject): Exclude<State, "Missing"> {
  if (o.spec?.suspend) return "Suspended";
  if (condition(o, "Stalled")?.status === "True") return "Stalled";
  const ready = condition(o, "Ready");
  if (ready?.status === "True") return "Ready";
  const reconciling = condition(o, "Reconciling");
  const inFlight = reconciling?.status === "True" && reconciling.reason !== "ProgressingWithRetry";
  if (ready?.status === "False" && !inFlight) return "Failing";
  return "Progressing";
}

/** The commit SHA in a Flux revision (`main@sha1:<sha>`), or the revision as it is. */
const shaOf = (revision: string) => revision.replace(/^.*@sha\d*:/, "");

/**
 * The cells of one stack: each of its tenants' sync on its cluster (`objects`: the cluster's
 * Kustomizations, HelmReleases and GitRepositories), the heads of their branches by `<url>#<branch>`.
 */
export function cellsOf(given: StackTenants, objects: readonly FluxObject[], heads: ReadonlyMap<string, string>): Cell[] {
  return Object.entries(given.tenants).map(([tenant, { namespaces }]) => {
    const home = namespaces[0];
    // The program's Kustomization: in the tenant's first namespace, named after the tenant's identity,
    // which is its tenant label's value too (components/manifests/tenant.ts). A Kustomization the
    // tenant labels itself cannot have that name there.
    const root = objects.find((o) => o.kind === "Kustomization" && o.metadata.namespace === home && o.metadata.labels?.[TENANT_LABEL] === o.metadata.name);
    const notReady = objects
      .filter((o) => (o.kind === "Kustomization" || o.kind === "HelmRelease") && namespaces.includes(o.metadata.namespace) && o !== root)
      .filter((o) => !["Ready", "Suspended", "Progressing"].includes(stateOf(o)))
      .map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}: ${stateOf(o)}: ${firstLine(condition(o, "Ready")?.message)}`);
    if (!root) return { stack: given.stack, tenant, state: "Missing" as const, behind: false, notReady };
    const source = objects.find((o) => o.kind === "GitRepository" && o.metadata.namespace === home && o.metadata.name === root.spec?.sourceRef?.name);
    const head = source?.spec?.url ? heads.get(`${source.spec.url}#${source.spec.ref?.branch ?? ""}`) : undefined;
    const applied = root.status?.lastAppliedRevision;
    const state = stateOf(root);
    const ready = condition(root, "Ready");
    return {
      stack: given.stack,
      tenant,
      state,
      ...(applied ? { applied } : {}),
      ...(head ? { head } : {}),
      behind: head !== undefined && (applied === undefined || shaOf(applied) !== head),
      ...(ready?.lastTransitionTime ? { since: ready.lastTransitionTime } : {}),
      ...((state === "Failing" || state === "Stalled") && ready?.message ? { message: firstLine(ready.message) } : {}),
      notReady,
    };
  });
}

const firstLine = (s?: string) => (s ?? "").split("\n")[0].slice(0, 200);

/** Whether a cell needs someone: failing, stalled, missing, or one of the tenant's own objects failing. */
export const unhealthy = (c: Cell) => ["Failing", "Stalled", "Missing"].includes(c.state) || c.notReady.length > 0;

/** `3d`, `5h`, `12m`, `40s`: how long ago `since` was. */
export function age(since: string | undefined, now: Date): string {
  if (!since) return "";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
  return s >= 86400 ? `${Math.floor(s / 86400)}d` : s >= 3600 ? `${Math.floor(s / 3600)}h` : s >= 60 ? `${Math.floor(s / 60)}m` : `${s}s`;
}

/** The matrix as text: a row per tenant, a column per stack, then what is wrong, cell by cell. */
export function renderMatrix(stacks: readonly string[], cells: readonly Cell[], now: Date): string {
  const tenants = [...new Set(cells.map((c) => c.tenant))].sort();
  const text = (c: Cell | undefined) => {
    if (!c) return "-";
    const rev = c.applied ? ` ${shaOf(c.applied).slice(0, 7)}` : "";
    const behind = c.behind ? ` behind ${c.head!.slice(0, 7)}` : "";
    const own = c.notReady.length ? ` (+${c.notReady.length} failing)` : "";
    return `${c.state}${rev}${behind}${own} ${age(c.since, now)}`.trim();
  };
  const rows = [["TENANT", ...stacks], ...tenants.map((t) => [t, ...stacks.map((s) => text(cells.find((c) => c.stack === s && c.tenant === t)))])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd());
  const problems = cells
    .flatMap((c) => [...(c.message ? [`${c.stack}/${c.tenant}: ${c.state}: ${c.message}`] : []), ...c.notReady.map((n) => `${c.stack}/${c.tenant}: ${n}`)])
    .sort();
  return [...lines, ...(problems.length ? ["", ...problems] : [])].join("\n") + "\n";
}

/** The head commit of each GitRepository's branch, by `<url>#<branch>`; none without GITHUB_TOKEN. */
async function branchHeads(objects: readonly FluxObject[], request: GitHubRequest): Promise<Map<string, string>> {
  const heads = new Map<string, string>();
  if (!process.env.GITHUB_TOKEN) return heads;
  for (const o of objects.filter((x) => x.kind === "GitRepository" && x.metadata.labels?.[TENANT_LABEL] !== undefined)) {
    const repo = o.spec?.url ? repositoryOf(o.spec.url) : undefined;
    const branch = o.spec?.ref?.branch;
    if (!repo || !branch) continue;
    const answer = await request("GET", `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}/branches/${encodeURIComponent(branch)}`);
    if (answer.status === 200 && typeof answer.body?.commit?.sha === "string") heads.set(`${o.spec!.url}#${branch}`, answer.body.commit.sha);
  }
  return heads;
}

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const named = argv.filter((a) => !a.startsWith("--"));
  const stacks = named.length ? named : readOrder().stacks;
  const now = new Date();
  const cells: Cell[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-status-"));
  try {
    for (const stack of stacks) {
      const out = stackOutputs(stack) as { kubeconfig?: string; context?: string; tenants?: StackTenants["tenants"] };
      if (!out.tenants) throw new Error(`stack ${stack} has no tenants output: has it been brought up?`);
      const env = { ...process.env };
      if (out.kubeconfig) {
        env.KUBECONFIG = path.join(dir, `${stack}.kubeconfig`);
        fs.writeFileSync(env.KUBECONFIG, out.kubeconfig, { mode: 0o600 });
      }
      const listed = kubectlJson([...(out.context ? ["--context", out.context] : []), "get", "kustomizations.kustomize.toolkit.fluxcd.io,helmreleases.helm.toolkit.fluxcd.io,gitrepositories.source.toolkit.fluxcd.io", "-A"], env);
      const objects = (listed.items ?? []) as FluxObject[];
      cells.push(...cellsOf({ stack, tenants: out.tenants }, objects, await branchHeads(objects, fetchGitHub)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (json) process.stdout.write(JSON.stringify({ generatedAt: now.toISOString(), stacks, cells, unhealthy: cells.some(unhealthy) }, null, 2) + "\n");
  else process.stdout.write(renderMatrix(stacks, cells, now));
  return cells.some(unhealthy) ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`status: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
