/**
 * `npm run bench -- --real [--large] [--sizes=10,40]`: the program on the rig (rig/README.md),
 * run by the real Pulumi CLI and engine, set against a bare program of the same custom resources,
 * in one run. A benchmark, not a test: it prints numbers and fails only when a run fails.
 *
 * For each size N (10 and 40 tenants; 100 too with --large), in order:
 * - the program: `up` from nothing, `up` adding one tenant, a no-change `preview`, `destroy`;
 * - the bare program: the same four, over the custom resources the program's state held after
 *   each `up` (same types, names, inputs and providers), registered flat: no components, no
 *   dependsOn, no dynamic resources, no waits, only the order any program of them needs
 *   (`bareSpec`). Its `up` adding one tenant registers the state's resources after the program's
 *   own `up` adding one tenant.
 * Every command is timed by wall clock; memory is the peak of the summed resident set of the
 * CLI and every process under it (language host, plugins), sampled every 200 ms from /proc.
 * After each destroy the repositories the run made are deleted from the GitHub double (the
 * program retains them on destroy), so the bare program starts from the same empty organisation.
 * BENCH_EVENT_LOGS=<dir> keeps every command's engine event log and the program's state there;
 * BENCH_CPU_PROFILES=<dir> a CPU profile of every Node process of each preview.
 */
import * as fs from "fs";
import * as path from "path";
import { eventually, github, kubectl, processTree, rigBaseConfig, rigEnv, RigEnv, ROOT, Stack } from "../../test/real/rig";

const RIG_CHART = path.join(ROOT, "rig", "chart", "flux-operator");
const COMPONENTS = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"];

/** n tenants, as the offline bench makes them: every third spans two namespaces with a quota. */
export function benchTenants(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `team-${String(i).padStart(3, "0")}`;
    return { name, ...(i % 3 === 0 ? { namespaces: [name, `${name}-jobs`], quota: { cpu: "2", memory: "4Gi", pods: "40" } } : {}) };
  });
}

function benchConfig(rig: RigEnv, n: number): Record<string, unknown> {
  // Both programs run with the double's latency and no write spacing (the provider's here, the
  // program's own GitHub client's FLEET_GITHUB_WRITE_DELAY_MS in `timed`): what is measured is the
  // engine, the providers and the program, not GitHub's limits (npm run bench -- --github).
  return {
    ...rigBaseConfig(rig),
    "fleet:flux": { operator: { install: true }, chart: RIG_CHART, components: COMPONENTS },
    "fleet:repository": { create: true, sshHost: rig.sshHost, knownHosts: rig.knownHosts, team: "platform" },
    "fleet:tenants": benchTenants(n),
  };
}

export interface Timed {
  readonly seconds: number;
  /** Peak of the summed VmRSS of the command's process tree, bytes. */
  readonly peakBytes: number;
}

function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone meanwhile
  }
}

/** Runs `pulumi <args>` for `stack` to completion, timing it and sampling its tree's memory. */
async function timed(stack: Stack, args: string[], cwd?: string, env?: Record<string, string>): Promise<Timed> {
  const started = process.hrtime.bigint();
  const eventLog = process.env.BENCH_EVENT_LOGS ? ["--event-log", path.join(process.env.BENCH_EVENT_LOGS, `${stack.name}-${args[0]}-${Date.now()}.jsonl`)] : [];
  // --event-log is one of the CLI's debug flags (PULUMI_DEBUG_COMMANDS; pulumi v3.274.1 cmd/pulumi/operations/up.go).
  const { child, output } = stack.start([...args, ...eventLog], {
    cwd,
    env: {
      FLEET_GITHUB_WRITE_DELAY_MS: "0",
      ...env,
      ...(eventLog.length ? { PULUMI_DEBUG_COMMANDS: "true" } : {}),
      // CPU profiles of every Node process of a preview (the program, the dynamic-provider host).
      ...(process.env.BENCH_CPU_PROFILES && args[0] === "preview"
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROFILES, `${stack.name}-preview`)}` }
        : {}),
    },
  });
  let peakBytes = 0;
  const sampler = setInterval(() => {
    if (child.pid === undefined) return;
    const sum = processTree(child.pid).reduce((s, p) => s + rss(p), 0);
    peakBytes = Math.max(peakBytes, sum);
  }, 200);
  const code: number = await new Promise((resolve) => child.once("exit", (c) => resolve(c ?? -1)));
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${code}\n${output()}`);
  return { seconds, peakBytes };
}

const isDynamic = (r: any) => r.type.startsWith("pulumi-nodejs:dynamic");

/**
 * The custom resources of an exported deployment (with secrets shown), flat, for the bare program.
 * Each keeps the data dependencies of its inputs (the state's propertyDependencies: an input that
 * is another resource's output), with a dynamic resource or a component in between replaced by
 * what it depends on in turn; no dependsOn, so a repository file waits for its repository, as in
 * any program that passes `repository.name`, and nothing waits for a readiness check.
 */
export function bareSpec(deployment: any): { providers: any[]; resources: any[] } {
  const all: any[] = deployment.resources ?? [];
  const byUrn = new Map(all.map((r) => [r.urn as string, r]));
  const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
  const typeOf = (urn: string) => urn.split("::")[2].split("$").pop()!;
  const providers = all
    .filter((r) => r.type.startsWith("pulumi:providers:"))
    .map((r) => ({ ref: `${r.urn}::${r.id}`, pkg: r.type.slice("pulumi:providers:".length), name: `bare-${nameOf(r.urn)}`, inputs: r.inputs ?? {} }));
  const kept = (r: any) => r.custom && !r.type.startsWith("pulumi:providers:") && !isDynamic(r);
  const dataDeps = (r: any): string[] => Object.values(r.propertyDependencies ?? {}).flat() as string[];
  const resolved = new Map<string, string[]>();
  const resolve = (urn: string, seen = new Set<string>()): string[] => {
    const r = byUrn.get(urn);
    if (!r || seen.has(urn)) return [];
    if (kept(r)) return [urn];
    seen.add(urn);
    const through = r.custom ? dataDeps(r) : all.filter((c) => c.parent === urn).map((c) => c.urn as string);
    return [...new Set(through.flatMap((u) => resolve(u, seen)))];
  };
  // A GitHub resource naming a repository by a plain string (a generated repository's template,
  // a deploy key's or a file's repository) waits for that repository, as in any program.
  const repositories = new Map(all.filter((r) => r.type === "github:index/repository:Repository").map((r) => [r.inputs?.name as string, r.urn as string]));
  // Likewise a namespaced Kubernetes object waits for its Namespace, as with `namespace:
  // ns.metadata.name`, and a Flux object for the Secret and the source it names in its namespace
  // (`secretRef`, `sourceRef`): without that, a destroy deletes the Secret first and
  // source-controller's finalizer then stalls on the object (seen at 40 tenants).
  const kube = new Map(all.filter((r) => r.type.startsWith("kubernetes:")).map((r) => [`${r.inputs?.kind}/${r.inputs?.metadata?.namespace ?? ""}/${r.inputs?.metadata?.name}`, r.urn as string]));
  const named = (r: any): string[] => {
    if (r.type.startsWith("github:")) return [r.inputs?.repository, r.inputs?.template?.repository].map((n) => repositories.get(n)).filter((u): u is string => u !== undefined && u !== r.urn);
    if (!r.type.startsWith("kubernetes:")) return [];
    const ns = r.inputs?.metadata?.namespace;
    const spec = r.inputs?.spec ?? {};
    return [
      kube.get(`Namespace//${ns}`),
      ...(ns && spec.secretRef?.name ? [kube.get(`Secret/${ns}/${spec.secretRef.name}`)] : []),
      ...(ns && spec.sourceRef?.kind && spec.sourceRef?.name && !spec.sourceRef.namespace ? [kube.get(`${spec.sourceRef.kind}/${ns}/${spec.sourceRef.name}`)] : []),
    ].filter((u): u is string => u !== undefined && u !== r.urn);
  };
  const seen = new Set<string>();
  const resources = all.filter(kept).map((r) => {
    let name = nameOf(r.urn);
    while (seen.has(`${typeOf(r.urn)}::${name}`)) name = `${name}-dup`;
    seen.add(`${typeOf(r.urn)}::${name}`);
    const inputs = { ...(r.inputs ?? {}) };
    delete inputs.__defaults;
    // No waits: the Kubernetes provider's readiness wait on an annotation (the FluxInstance's).
    const annotations = inputs.metadata?.annotations;
    if (annotations?.["pulumi.com/waitFor"] !== undefined) {
      const rest = Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== "pulumi.com/waitFor" && k !== "pulumi.com/timeoutSeconds"));
      inputs.metadata = { ...inputs.metadata, annotations: rest };
    }
    if (!resolved.has(r.urn)) resolved.set(r.urn, [...new Set([...dataDeps(r).flatMap((u) => resolve(u)), ...named(r)])]);
    return { urn: r.urn, type: r.type, name, provider: r.provider, inputs, dependsOn: resolved.get(r.urn) };
  });
  return { providers, resources };
}

const BARE_PROJECT = "fleet-bare";

/** The bare program: registers a spec's providers, then its resources, nothing else. */
const BARE_PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const spec = JSON.parse(require("fs").readFileSync(process.env.BARE_SPEC, "utf8"));
const SIG = "4dabf18193072939515e22adb298388d";
const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (v[SIG] === "1b47061264138c4ac30d75fd1eb44270") return pulumi.secret(revive(JSON.parse(v.plaintext)));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};
const providers = {};
for (const p of spec.providers) {
  const inputs = revive(p.inputs);
  providers[p.ref] = new pulumi.ProviderResource(p.pkg, p.name, inputs, typeof p.inputs.version === "string" ? { version: p.inputs.version } : {});
}
const made = {};
for (const r of spec.resources) {
  const dependsOn = r.dependsOn.map((u) => made[u]).filter(Boolean);
  made[r.urn] = new pulumi.CustomResource(r.type, r.name, revive(r.inputs), { ...(r.provider ? { provider: providers[r.provider] } : {}), dependsOn });
}
`;

/** Waits until no namespace of a bench tenant is left (a destroy returns while they terminate). */
async function namespacesGone(rig: RigEnv): Promise<void> {
  await eventually("the bench's namespaces to be gone", 300_000, () => {
    const r = kubectl(rig, "get", "namespaces", "-o", "name");
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout.split("\n").some((l) => l.startsWith("namespace/team-")) ? undefined : true;
  });
}

/** Deletes every repository of the double not in `keep` (the program retains its repositories on destroy). */
async function dropRepositories(rig: RigEnv, keep: Set<string>): Promise<void> {
  const state = (await github(rig, "GET", "_rig/state")).json;
  for (const r of state.repos ?? []) {
    if (keep.has(r.full_name)) continue;
    const res = await github(rig, "DELETE", `repos/${r.full_name}`);
    if (res.status !== 204) throw new Error(`DELETE repos/${r.full_name} answered ${res.status}`);
  }
}

interface Row {
  readonly n: number;
  readonly which: "program" | "bare";
  readonly up: Timed;
  readonly add: Timed;
  readonly preview: Timed;
  readonly destroy: Timed;
  readonly resources: number;
  readonly stateBytes: number;
}

/** The stack's state file in the local backend (project-scoped: `.pulumi/stacks/<project>/<stack>.json`): its size and its resource count. */
function stateFile(stack: Stack, project: string): { bytes: number; resources: number } {
  const text = fs.readFileSync(path.join(stack.backend, ".pulumi", "stacks", project, `${stack.name}.json`), "utf8");
  return { bytes: Buffer.byteLength(text), resources: (JSON.parse(text).checkpoint.latest.resources ?? []).length };
}

async function benchProgram(rig: RigEnv, n: number): Promise<{ row: Row; specs: [any, any] }> {
  const stack = new Stack(rig, `bench-${n}`);
  try {
    stack.init(benchConfig(rig, n), fs.readFileSync(rig.kubeconfig, "utf8"));
    const up = await timed(stack, ["up", "--yes", "--skip-preview"]);
    const exported = () => JSON.parse(stack.must(["stack", "export", "--show-secrets"]).stdout).deployment;
    const first = exported();
    if (process.env.BENCH_EVENT_LOGS) fs.writeFileSync(path.join(process.env.BENCH_EVENT_LOGS, `${stack.name}-state.json`), JSON.stringify(first));
    const { bytes, resources } = stateFile(stack, "fleet");
    stack.setConfig(benchConfig(rig, n + 1));
    const add = await timed(stack, ["up", "--yes", "--skip-preview"]);
    const second = exported();
    const preview = await timed(stack, ["preview", "--expect-no-changes"]);
    stack.must(["state", "unprotect", "--all", "--yes"]);
    const destroy = await timed(stack, ["destroy", "--yes", "--skip-preview"]);
    return { row: { n, which: "program", up, add, preview, destroy, resources, stateBytes: bytes }, specs: [bareSpec(first), bareSpec(second)] };
  } catch (e) {
    // Leave the rig as it was: what a failed run made goes, then the stack.
    stack.pulumi(["state", "unprotect", "--all", "--yes"]);
    stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    throw e;
  } finally {
    stack.remove();
  }
}

async function benchBare(rig: RigEnv, n: number, specs: [any, any]): Promise<Row> {
  const stack = new Stack(rig, `bare-${n}`);
  const dir = path.join(ROOT, ".rig", "bench", `bare-${n}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${BARE_PROJECT}\nruntime: nodejs\nmain: index.js\n`);
  fs.writeFileSync(path.join(dir, "index.js"), BARE_PROGRAM);
  const specFile = (i: number) => path.join(dir, `spec-${i}.json`);
  specs.forEach((s, i) => fs.writeFileSync(specFile(i), JSON.stringify(s)));
  try {
    stack.initBare(dir);
    const up = await timed(stack, ["up", "--yes", "--skip-preview"], dir, { BARE_SPEC: specFile(0) });
    const { bytes, resources } = stateFile(stack, BARE_PROJECT);
    const add = await timed(stack, ["up", "--yes", "--skip-preview"], dir, { BARE_SPEC: specFile(1) });
    // Not --expect-no-changes: without the wait, the FluxInstance's outputs predate the operator's
    // finalizer, which the provider's server-side diff then shows.
    const preview = await timed(stack, ["preview"], dir, { BARE_SPEC: specFile(1) });
    const destroy = await timed(stack, ["destroy", "--yes", "--skip-preview"], dir, { BARE_SPEC: specFile(1) });
    return { n, which: "bare", up, add, preview, destroy, resources, stateBytes: bytes };
  } catch (e) {
    await timed(stack, ["destroy", "--yes", "--skip-preview"], dir, { BARE_SPEC: specFile(1) }).catch(() => undefined);
    throw e;
  } finally {
    stack.remove();
  }
}

const s = (t: Timed) => t.seconds.toFixed(1);
const gb = (t: Timed) => (t.peakBytes / 1e9).toFixed(2);

export async function benchReal(argv: string[]): Promise<void> {
  const rig = rigEnv();
  // Where the event logs, states and profiles go is made here, not found missing after the first run.
  for (const dir of [process.env.BENCH_EVENT_LOGS, process.env.BENCH_CPU_PROFILES]) if (dir) fs.mkdirSync(dir, { recursive: true });
  const sizesArg = argv.find((a) => a.startsWith("--sizes="));
  const sizes = sizesArg ? sizesArg.slice("--sizes=".length).split(",").map(Number) : [10, 40, ...(argv.includes("--large") ? [100] : [])];
  const keep = new Set<string>(((await github(rig, "GET", "_rig/state")).json.repos ?? []).map((r: any) => r.full_name));
  // What each run leaves: the repositories the program retains, and namespaces still terminating.
  const clean = async () => {
    await dropRepositories(rig, keep);
    await namespacesGone(rig);
  };
  const rows: Row[] = [];
  for (const n of sizes) {
    try {
      const { row, specs } = await benchProgram(rig, n);
      rows.push(row);
      console.error(`bench: program at ${n} tenants done (${s(row.up)} s up)`);
      await clean();
      const bare = await benchBare(rig, n, specs);
      rows.push(bare);
      console.error(`bench: bare at ${n} tenants done (${s(bare.up)} s up)`);
    } finally {
      await clean();
    }
  }
  console.log("tenants | program | resources | state bytes | up s | up +1 tenant s | no-change preview s | destroy s | peak GB (up)");
  console.log("------- | ------- | --------- | ----------- | ---- | -------------- | ------------------- | --------- | ------------");
  for (const r of rows) console.log([r.n, r.which, r.resources, r.stateBytes, s(r.up), s(r.add), s(r.preview), s(r.destroy), gb(r.up)].join(" | "));
  console.log("\ntenants | up ratio | up +1 ratio | preview ratio | destroy ratio | state bytes per tenant (program)");
  console.log("------- | -------- | ----------- | ------------- | ------------- | --------------------------------");
  for (const n of sizes) {
    const p = rows.find((r) => r.n === n && r.which === "program")!;
    const b = rows.find((r) => r.n === n && r.which === "bare")!;
    const ratio = (k: "up" | "add" | "preview" | "destroy") => (p[k].seconds / b[k].seconds).toFixed(2);
    console.log([n, ratio("up"), ratio("add"), ratio("preview"), ratio("destroy"), Math.round(p.stateBytes / n)].join(" | "));
  }
  if (sizes.length > 1) {
    const [a, z] = [sizes[0], sizes[sizes.length - 1]];
    const per = (n: number, which: Row["which"]) => rows.find((r) => r.n === n && r.which === which)!.up.seconds / n;
    const growth = (which: Row["which"]) => per(z, which) / per(a, which);
    // The engine's own growth (a whole-state save per step) shows in the bare program's figure.
    console.log(`\nup per tenant at ${z} vs ${a} tenants: program x${growth("program").toFixed(2)}, bare x${growth("bare").toFixed(2)}; ` +
      `program over bare x${(growth("program") / growth("bare")).toFixed(2)} (at most 1.00: the program adds no growth of its own)`);
  }
}
