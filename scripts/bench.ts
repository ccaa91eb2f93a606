/**
 * npm run bench: evaluates the fleet program under Pulumi mocks with 50 and 200 tenants and
 * reports wall time and resources per tenant, next to two bare programs that register the same
 * number of plain resources through the same mock harness with the SDK's defaults, and next to the
 * floor: the program's own custom resources (same types, names and inputs) registered flat, the
 * cheapest way the SDK allows (no components, dependencies or dynamic providers; no debug stacks
 * and short stack traces, `withoutDebugStacks`), and next to the same floor built with each
 * resource's own SDK class (`new k8s.core.v1.Namespace(…)`, `new github.Repository(…)`), which
 * makes an output for every property of its type's schema (48 for a GitHub repository) where the
 * plain floor makes one per input. A benchmark, not a test: it prints numbers and never fails on them.
 *
 * Each measurement runs in a fresh Node process (after a small warm-up run in that process), so
 * one run's heap does not slow the next; the table shows the median of RUNS processes.
 *
 * Then the GitHub model (`scripts/lib/github-model.ts`): for 10, 50, 200 and 1000 tenants, the
 * write requests a first `pulumi up` registers in the owning stack and in a lookup stack, counted
 * from the registrations, and the time they take under the provider's write spacing and GitHub's
 * 80/min and 500/h limits on content-generating requests. `npm run bench -- --github` prints only that.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { runProgram } from "./lib/evaluate";
import { skipUnreadDebugStacks, withoutDebugStacks } from "../components/perf";
import { countWrites, filesAfter, generatedFiles, GITHUB_LIMITS, writeTime } from "./lib/github-model";

const SIZES = [50, 200];
const RUNS = 3;

/** The bare program's resource: one plain custom resource, nothing else. */
class Thing extends pulumi.CustomResource {
  constructor(name: string, value: number) {
    super("bench:index:Thing", name, { value });
  }
}

/** n tenants: every third spans two namespaces with a quota, every fifth uses an existing repository. */
function tenants(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `team-${String(i).padStart(3, "0")}`;
    return {
      name,
      ...(i % 3 === 0 ? { namespaces: [name, `${name}-jobs`], quota: { cpu: "2", memory: "4Gi", pods: "40" } } : {}),
      ...(i % 5 === 0 ? { repository: { name: `${name}-gitops`, create: false }, branch: "release" } : {}),
    };
  });
}

/** The owning stack (environment bench, its template holding both environments), or a lookup stack of environment lookup. */
const fleetConfig = (n: number, create = true) => ({
  "github:owner": "acme-org",
  "fleet:repository": create ? { create, templateEnvironments: ["bench", "lookup"] } : { create },
  ...(create ? {} : { "fleet:environment": "lookup" }),
  "fleet:tenants": tenants(n),
});

const GITHUB_SIZES = [10, 50, 200, 1000];

function duration(seconds: number): string {
  return seconds < 3600 ? `${(seconds / 60).toFixed(1)} min` : `${(seconds / 3600).toFixed(2)} h`;
}

/** The GitHub writes of a first `pulumi up`, counted from the registrations, and their time. */
async function githubModel(): Promise<void> {
  console.log(`GitHub writes of a first pulumi up (provider writeDelayMs ${GITHUB_LIMITS.writeDelayMs}; GitHub: ${GITHUB_LIMITS.perMinute}/min and ${GITHUB_LIMITS.perHour}/h content-generating requests)\n`);
  console.log("(every fifth tenant on an existing repository, which costs each stack its key and its file; a lookup stack's file that the template gave a generated repository is only read)\n");
  console.log("tenants | stack | content writes | other writes | per tenant (content) | at least | binding limit");
  console.log("------- | ----- | -------------- | ------------ | -------------------- | -------- | -------------");
  const run = async (n: number, create: boolean) => {
    const result = await runProgram({ stack: "bench", config: fleetConfig(n, create) });
    if (result.error) throw result.error;
    return result.resources;
  };
  for (const n of GITHUB_SIZES) {
    const owning = await run(n, true);
    // The lookup stack runs after the owning stack: what that one made is on GitHub.
    for (const [label, resources, present] of [["owning", owning, generatedFiles(owning)], ["lookup", await run(n, false), filesAfter(owning)]] as const) {
      const writes = countWrites(resources, present);
      const base = countWrites(await run(0, label === "owning"), present);
      const time = writeTime(writes);
      console.log([n, label, writes.content, writes.other, ((writes.content - base.content) / n).toFixed(2), duration(time.seconds), time.binding].join(" | "));
    }
  }
}

/** A custom resource of any type, with the given inputs. */
class Replayed extends pulumi.CustomResource {
  constructor(r: Flat) {
    super(r.type, r.name, r.inputs);
  }
}

/** Every custom resource `program` registered, as it registered it: type, name and inputs. */
type Flat = { type: string; name: string; inputs: Record<string, unknown> };

type SdkClass = new (name: string, args: Record<string, unknown>) => pulumi.CustomResource;

/**
 * The SDK class of a type token, read from the token: `kubernetes:<group>/<version>:<Kind>` is
 * `k8s.<group's first label>.<version>.<Kind>` (`core/v1`, `rbac.authorization.k8s.io/v1`,
 * `helm.sh/v3`; a miss in these groups throws); an object of another group (Flux's) is a
 * `k8s.apiextensions.CustomResource`; `github:index/…:<Kind>`
 * and `tls:index/…:<Kind>` are `github.<Kind>` and `tls.<Kind>`. Undefined for the program's own
 * dynamic resources, which stay plain.
 */
function sdkClass(type: string): SdkClass | undefined {
  const [pkg, module, kind] = type.split(":");
  const lookUp = (root: unknown, ...keys: string[]) => keys.reduce<any>((o, k) => o?.[k], root) as SdkClass | undefined;
  if (pkg === "kubernetes") {
    const [group, version] = module.split("/");
    const found = lookUp(k8s, group.split(".")[0], version, kind);
    if (found) return found;
    // Kubernetes' own groups and Helm have their classes: a miss there is a token read wrongly.
    if (group === "core" || group.endsWith(".k8s.io") || group === "helm.sh") throw new Error(`no @pulumi/kubernetes class for ${type}`);
    return k8s.apiextensions.CustomResource as unknown as SdkClass;
  }
  if (pkg === "github") return lookUp(github, kind);
  if (pkg === "tls") return lookUp(tls, kind);
  return undefined;
}

/**
 * The floor: `resources` registered flat, the cheapest way the SDK allows (no components, no
 * dependencies, no dynamic providers: each a plain CustomResource of its type with the inputs the
 * program gave it, built without debug stacks, and without the ones nobody reads after); `typed`:
 * each through its own SDK class instead, where it has one.
 */
function registerFlat(resources: readonly Flat[], typed: boolean): Record<string, unknown> {
  skipUnreadDebugStacks();
  return withoutDebugStacks(() => {
    for (const r of resources) {
      const Class = typed ? sdkClass(r.type) : undefined;
      const made = Class ? new Class(r.name, r.inputs) : new Replayed(r);
      // The SDK's own record of the type (resource.js): a class read wrongly from the token fails here.
      const type = (made as unknown as { __pulumiType: string }).__pulumiType;
      if (type !== r.type) throw new Error(`${r.name}: registered as ${type}, not ${r.type}`);
    }
    return {};
  });
}

/** Writes the custom resources a run of the program with `n` tenants registers to `file`, for the floor. */
async function collectFlat(n: number, file: string): Promise<void> {
  const result = await runProgram({ stack: "bench", config: fleetConfig(n) });
  if (result.error) throw result.error;
  const flat: Flat[] = result.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")).map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }));
  fs.writeFileSync(file, JSON.stringify(flat));
}

/**
 * One measurement in this process: `fleet <tenants>`, `bare <resources>`, or `floor`/`typed`
 * `<tenants> <file>` (the resources `--collect` wrote, collected in another process). Prints `{ms, count}`.
 */
async function measureOnce(mode: string, n: number, file?: string): Promise<void> {
  const things = (size: number) => {
    for (let i = 0; i < size; i++) new Thing(`thing-${i}`, i);
    return {};
  };
  const flat = mode === "floor" || mode === "typed" ? (JSON.parse(fs.readFileSync(file!, "utf8")) as Flat[]) : undefined;
  const run = (size: number, warm: boolean) =>
    mode === "fleet"
      ? runProgram({ stack: "bench", config: fleetConfig(size) })
      : flat
        ? runProgram({ stack: "bench", config: {}, program: async () => registerFlat(warm ? flat.slice(0, 40) : flat, mode === "typed") })
        : runProgram({ stack: "bench", config: {}, program: async () => things(size) });
  await run(mode === "fleet" ? 2 : 40, true); // warm up module loading, the JIT and the closure serializer
  const start = process.hrtime.bigint();
  const result = await run(n, false);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  process.stdout.write(JSON.stringify({ ms, count: result.resources.length }));
}

/** The median of RUNS fresh processes measuring `mode` (`file`: the floors' resources). */
function measure(mode: string, n: number, file?: string): { ms: number; count: number } {
  const samples = Array.from({ length: RUNS }, () => JSON.parse(once("--once", mode, String(n), ...(file ? [file] : []))) as { ms: number; count: number });
  samples.sort((a, b) => a.ms - b.ms);
  return samples[Math.floor(samples.length / 2)];
}

const once = (...args: string[]) => execFileSync(process.execPath, ["-r", "ts-node/register", __filename, ...args], { encoding: "utf8" });

/** Both floors of the program with `n` tenants: its custom resources, collected once in a process of their own. */
function measureFloors(n: number): { floor: { ms: number; count: number }; typed: { ms: number; count: number } } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-floor-"));
  const file = path.join(dir, "flat.json");
  try {
    once("--collect", String(n), file);
    return { floor: measure("floor", n, file), typed: measure("typed", n, file) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const baseline = measure("fleet", 0);
  console.log(`node ${process.version}, median of ${RUNS} fresh processes; without tenants: ${baseline.count} resources, ${baseline.ms.toFixed(0)} ms\n`);
  console.log("tenants | resources | per tenant | program ms | bare ms (same count) | ratio | floor ms (its custom resources, flat) | ratio to floor | floor ms, each through its SDK class | ratio to it | ms per tenant");
  console.log("------- | --------- | ---------- | ---------- | -------------------- | ----- | ------------------------------------- | -------------- | ------------------------------------ | ----------- | -------------");
  const perTenant: number[] = [];
  for (const n of SIZES) {
    const program = measure("fleet", n);
    const bare = measure("bare", program.count);
    const { floor, typed } = measureFloors(n);
    const msPerTenant = (program.ms - baseline.ms) / n;
    perTenant.push(msPerTenant);
    console.log(
      [n, program.count, ((program.count - baseline.count) / n).toFixed(1), program.ms.toFixed(0), bare.ms.toFixed(0),
        (program.ms / bare.ms).toFixed(2), floor.ms.toFixed(0), (program.ms / floor.ms).toFixed(2), typed.ms.toFixed(0),
        (program.ms / typed.ms).toFixed(2), msPerTenant.toFixed(1)].join(" | "),
    );
  }
  console.log(`\nper-tenant time at ${SIZES[SIZES.length - 1]} vs ${SIZES[0]} tenants: x${(perTenant[perTenant.length - 1] / perTenant[0]).toFixed(2)} (1.00 = linear)`);
}

if (process.argv[2] === "--collect") {
  collectFlat(Number(process.argv[3]), process.argv[4]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (process.argv[2] === "--once") {
  measureOnce(process.argv[3], Number(process.argv[4]), process.argv[5]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (process.argv.includes("--real")) {
  // Loaded only here: it reads the running rig's environment.
  import("./lib/bench-real").then(({ benchReal }) => benchReal(process.argv.slice(2))).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (process.argv.includes("--github")) {
  githubModel().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main();
  githubModel().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
