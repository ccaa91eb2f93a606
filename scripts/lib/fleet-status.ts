/**
 * A stack's tenants on its cluster, as `npm run status` shows them and `npm run upgrade`'s health
 * gate waits for them: each tenant's sync state, applied revision against its branch head, and age
 * (scripts/status.ts says what each state means).
 */
import { fetchGitHub, GitHubRequest, repositoryOf } from "../../components/github/client";
import { TENANT_LABEL } from "../../components/constants";
import { kubectlJson } from "./kubectl";
import { clusterArgs, stackOutputs, withBackend } from "./state";

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
  /** The program's Kustomization of the tenant, and the last reconcile request it handled. */
  readonly kustomization?: { readonly namespace: string; readonly name: string; readonly handled?: string };
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
  status?: { conditions?: Condition[]; lastAppliedRevision?: string; lastHandledReconcileAt?: string };
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
      kustomization: { namespace: home, name: root.metadata.name, ...(root.status?.lastHandledReconcileAt ? { handled: root.status.lastHandledReconcileAt } : {}) },
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
export async function branchHeads(objects: readonly FluxObject[], request: GitHubRequest): Promise<Map<string, string>> {
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


type Kube = { readonly stack: string; readonly args: string[]; readonly env: NodeJS.ProcessEnv; readonly tenants: StackTenants["tenants"] };

/** kubectl's arguments for a stack's cluster, and its tenants, from its outputs. */
export function stackKube(stack: string, dir: string, env: NodeJS.ProcessEnv = process.env): Kube {
  const out = stackOutputs(stack, withBackend(env)) as { kubeconfig?: string; context?: string; tenants?: StackTenants["tenants"] };
  if (!out.tenants) throw new Error(`stack ${stack} has no tenants output: has it been brought up?`);
  return { stack, args: clusterArgs(stack, out, dir), env, tenants: out.tenants };
}

const FLUX_LIST = "kustomizations.kustomize.toolkit.fluxcd.io,helmreleases.helm.toolkit.fluxcd.io,gitrepositories.source.toolkit.fluxcd.io";

/** The cells of a stack's cluster as kubectl reads them now; with `heads`, against its tenants' branch heads on GitHub. */
async function readCells(kube: Kube, heads: boolean): Promise<Cell[]> {
  const objects = (kubectlJson([...kube.args, "get", FLUX_LIST, "-A"], kube.env).items ?? []) as FluxObject[];
  return cellsOf({ stack: kube.stack, tenants: kube.tenants }, objects, heads ? await branchHeads(objects, fetchGitHub) : new Map());
}

/** The cells of one stack, read through its outputs with kubectl, and its tenants' branch heads on GitHub. */
export async function stackCells(stack: string, dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Cell[]> {
  return readCells(stackKube(stack, dir, env), true);
}

/**
 * Whether a cell passes the health gate for a reconcile requested at `requestedAt`: the tenant's
 * Kustomization handled that request (so it ran on the controllers as they are now) and is Ready
 * with an applied revision, and none of the tenant's own Kustomizations and HelmReleases is
 * failing. A suspended tenant is paused on purpose and passes.
 */
export function passesGate(c: Cell, requestedAt: string): boolean {
  if (c.state === "Suspended") return c.notReady.length === 0;
  return c.state === "Ready" && c.applied !== undefined && c.kustomization?.handled === requestedAt && c.notReady.length === 0;
}

/** Whether every FluxInstance of a `kubectl get fluxinstances -A` list is Ready at `version` (`v2.9.4@sha256:…`). */
export function instancesAt(items: readonly any[], version: string): boolean {
  return items.length > 0 && items.every((i) => String(i?.status?.lastAppliedRevision ?? "").startsWith(`v${version.replace(/^v/, "")}@`) &&
    (i?.status?.conditions ?? []).some((c: Condition) => c.type === "Ready" && c.status === "True"));
}

/**
 * The health gate after an up. With `fluxVersion`, it first waits until the FluxInstance is Ready
 * at that version (the operator has rolled the controllers out: until then the old ones would
 * answer). Then it asks every tenant's Kustomization to reconcile now (the annotation `flux
 * reconcile` sets: reconcile.fluxcd.io/requestedAt), and waits until every cell passes, or
 * `timeoutMs` runs out. A read that fails meanwhile (CRDs being replaced) is retried. The cells as
 * last read, whether they all passed, and why not when it is not a cell's doing.
 */
export async function healthGate(stack: string, dir: string, opts: { timeoutMs: number; fluxVersion?: string; pollMs?: number; now?: () => Date; env?: NodeJS.ProcessEnv }): Promise<{ passed: boolean; cells: Cell[]; requestedAt: string; reason?: string }> {
  const kube = stackKube(stack, dir, opts.env ?? process.env);
  const deadline = Date.now() + opts.timeoutMs;
  const pause = () => new Promise((r) => setTimeout(r, opts.pollMs ?? 5000));
  const read = () => readCells(kube, false);
  let last: Cell[] = [];
  let failure = "";
  if (opts.fluxVersion) {
    for (;;) {
      try {
        if (instancesAt(kubectlJson([...kube.args, "get", "fluxinstances.fluxcd.controlplane.io", "-A"], kube.env).items ?? [], opts.fluxVersion)) break;
      } catch (e) {
        failure = (e as Error).message;
      }
      if (Date.now() >= deadline) {
        return { passed: false, cells: await read().catch(() => []), requestedAt: "", reason: `the FluxInstance is not Ready at Flux ${opts.fluxVersion}${failure ? ` (${failure.split("\n")[0]})` : ""}` };
      }
      await pause();
    }
  }
  const requestedAt = (opts.now ?? (() => new Date()))().toISOString();
  for (const c of await read()) {
    if (!c.kustomization || c.state === "Suspended") continue;
    kubectlJson([...kube.args, "annotate", "--overwrite", "kustomizations.kustomize.toolkit.fluxcd.io", c.kustomization.name, "-n", c.kustomization.namespace, `reconcile.fluxcd.io/requestedAt=${requestedAt}`], kube.env);
  }
  for (;;) {
    try {
      last = await read();
      failure = "";
      if (last.every((c) => passesGate(c, requestedAt))) return { passed: true, cells: last, requestedAt };
    } catch (e) {
      failure = (e as Error).message;
    }
    if (Date.now() >= deadline) return { passed: false, cells: last, requestedAt, ...(failure ? { reason: `the cluster could not be read: ${failure.split("\n")[0]}` } : {}) };
    await pause();
  }
}

/**
 * What `npm run status -- <stack> --json` writes; or, when it could not read the stack, its error;
 * or, when CI does not read the stack (a kind stack, a missing secret: stack-gate), why.
 */
export interface Report {
  readonly stacks: readonly string[];
  readonly cells: readonly Cell[];
  readonly errors?: readonly { readonly stack: string; readonly error: string }[];
  readonly skipped?: readonly { readonly stack: string; readonly reason: string }[];
}

/**
 * Reports of single stacks (each CI job reads its own stack with its own credentials) as one: the
 * stacks in `expected`'s order, each with its cells, an error, or a reason it was not read. A stack
 * with no report at all is an error: its job did not finish, and an unread stack is not healthy.
 */
export function combineReports(reports: readonly Report[], expected: readonly string[]): { stacks: string[]; cells: Cell[]; errors: { stack: string; error: string }[]; skipped: { stack: string; reason: string }[] } {
  const seen = [...new Set(reports.flatMap((r) => [...r.stacks, ...(r.skipped ?? []).map((s) => s.stack)]))];
  const skipped = reports.flatMap((r) => r.skipped ?? []);
  const stacks = [...expected.filter((s) => seen.includes(s)), ...seen.filter((s) => !expected.includes(s))].filter((s) => !skipped.some((k) => k.stack === s));
  return {
    stacks,
    cells: reports.flatMap((r) => r.cells),
    errors: [...reports.flatMap((r) => r.errors ?? []), ...expected.filter((s) => !seen.includes(s)).map((stack) => ({ stack, error: "no report: its job did not finish (see the workflow run)" }))],
    skipped,
  };
}

/**
 * The combined matrix as text, then the stacks that could not be read and those not checked, and a
 * last line that names what is unhealthy (no ages or revisions: it changes only when that does).
 */
export function renderReport(combined: ReturnType<typeof combineReports>, now: Date): string {
  const unread = new Set(combined.errors.map((e) => e.stack));
  const shown = combined.stacks.filter((s) => !unread.has(s));
  const bad = [
    ...combined.cells.filter(unhealthy).map((c) => `${c.stack}/${c.tenant} (${c.state}${c.notReady.length ? `, ${c.notReady.length} of its own failing` : ""})`).sort(),
    ...[...unread].sort().map((s) => `${s} (not read)`),
  ];
  const lines = [
    ...(shown.length ? [renderMatrix(shown, combined.cells, now).trimEnd(), ""] : []),
    ...combined.errors.map((e) => `${e.stack}: could not be read: ${e.error.split("\n")[0].slice(0, 300)}`),
    ...combined.skipped.map((s) => `${s.stack}: not checked: ${s.reason}`),
    bad.length ? `unhealthy: ${bad.join(", ")}` : "healthy: every tenant of every stack read",
  ];
  return lines.join("\n") + "\n";
}

/** Whether the combined report needs someone: an unhealthy cell, or a stack that could not be read. */
export const reportUnhealthy = (combined: ReturnType<typeof combineReports>) => combined.cells.some(unhealthy) || combined.errors.length > 0;
