/**
 * npm run bench: evaluates the fleet program under Pulumi mocks with 50 and 200 tenants and
 * reports wall time and resources per tenant, next to two bare programs that register the same
 * number of plain resources through the same mock harness with the SDK's defaults, and next to the
 * floor: the program's own custom resources (same types, names and inputs) registered flat, the
 * cheapest way the SDK allows (no components, dependencies or dynamic providers; no debug stacks
 * and short stack traces, `withoutDebugStacks`). A benchmark, not a test: it prints numbers and
 * never fails on them.
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
import * as pulumi from "@pulumi/pulumi";
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

/**
 * The floor: `resources` registered flat, the cheapest way the SDK allows (no components, no
 * dependencies, no dynamic providers: each a plain CustomResource of its type with the inputs the
 * program gave it, built without debug stacks, and without the ones nobody reads after).
 */
function registerFlat(resources: readonly Flat[]): Record<string, unknown> {
  skipUnreadDebugStacks();
  return withoutDebugStacks(() => {
    for (const r of resources) new Replayed(r);
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
 * One measurement in this process: `fleet <tenants>`, `bare <resources>` or `floor <tenants>
 * <file>` (the resources `--collect` wrote, collected in another process). Prints `{ms, count}`.
 */
async function measureOnce(mode: string, n: number, file?: string): Promise<void> {
  const things = (size: number) => {
    for (let i = 0; i < size; i++) new Thing(`thing-${i}`, i);
    return {};
  };
  const flat = mode === "floor" ? (JSON.parse(fs.readFileSync(file!, "utf8")) as Flat[]) : undefined;
  const run = (size: number, warm: boolean) =>
    mode === "fleet"
      ? runProgram({ stack: "bench", config: fleetConfig(size) })
      : flat
        ? runProgram({ stack: "bench", config: {}, program: async () => registerFlat(warm ? flat.slice(0, 40) : flat) })
        : runProgram({ stack: "bench", config: {}, program: async () => things(size) });
  await run(mode === "fleet" ? 2 : 40, true); // warm up module loading, the JIT and the closure serializer
  const start = process.hrtime.bigint();
  const result = await run(n, false);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  process.stdout.write(JSON.stringify({ ms, count: result.resources.length }));
}

function measure(mode: string, n: number): { ms: number; count: number } {
  const once = (...args: string[]) => execFileSync(process.execPath, ["-r", "ts-node/register", __filename, ...args], { encoding: "utf8" });
  const file = mode === "floor" ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-floor-")), "flat.json") : undefined;
  if (file) once("--collect", String(n), file);
  try {
    const samples = Array.from({ length: RUNS }, () => JSON.parse(once("--once", mode, String(n), ...(file ? [file] : []))) as { ms: number; count: number });
    samples.sort((a, b) => a.ms - b.ms);
    return samples[Math.floor(samples.length / 2)];
  } finally {
    if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

function main(): void {
  const baseline = measure("fleet", 0);
  console.log(`node ${process.version}, median of ${RUNS} fresh processes; without tenants: ${baseline.count} resources, ${baseline.ms.toFixed(0)} ms\n`);
  console.log("tenants | resources | per tenant | program ms | bare ms (same count) | ratio | floor ms (its custom resources, flat) | ratio to floor | ms per tenant");
  console.log("------- | --------- | ---------- | ---------- | -------------------- | ----- | ------------------------------------- | -------------- | -------------");
  const perTenant: number[] = [];
  for (const n of SIZES) {
    const program = measure("fleet", n);
    const bare = measure("bare", program.count);
    const floor = measure("floor", n);
    const msPerTenant = (program.ms - baseline.ms) / n;
    perTenant.push(msPerTenant);
    console.log(
      [n, program.count, ((program.count - baseline.count) / n).toFixed(1), program.ms.toFixed(0), bare.ms.toFixed(0),
        (program.ms / bare.ms).toFixed(2), floor.ms.toFixed(0), (program.ms / floor.ms).toFixed(2), msPerTenant.toFixed(1)].join(" | "),
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
