/**
 * What keeps evaluation near the SDK's floor (components/perf.ts; numbers from `npm run bench`):
 * - the dynamic providers are shared: the SDK serializes a provider once per provider object
 *   (`providerCache` in @pulumi/pulumi dynamic/index.js), so a provider built per resource would
 *   cost one closure serialization per resource;
 * - resources are built without the SDK's debug stacks, and the limit is always restored;
 * - each resource's stack trace, which the engine keeps in state, is its source position and two
 *   callers, not the whole stack;
 * - the SDK's debug promises get no stack unless its leak report will print it.
 */
import * as assert from "assert";
import { runProgram, stackConfig } from "./harness";
import * as pulumi from "@pulumi/pulumi";
import { type Debuggable, outputPromise, skipUnreadDebugStacks, STACK_FRAMES, startAfter, withoutDebugStacks } from "../components/perf";
import { ScaffoldFile, ScaffoldFileProvider } from "../components/github/scaffold-file";
import { KindCluster } from "../components/cluster/kind";

// The module dynamic/index.js loads on demand to serialize a provider; patched to count calls.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure") as { serializeFunction: (f: () => unknown, o?: unknown) => Promise<unknown> };

/** Runs `program` under the mocks, and returns the provider objects the SDK serialized meanwhile. */
async function serializedDuring(program: () => void): Promise<unknown[]> {
  const original = closure.serializeFunction;
  const serialized: unknown[] = [];
  closure.serializeFunction = (f, o) => {
    serialized.push(f());
    return original(f, o);
  };
  try {
    const result = await runProgram({ stack: "dynamic", config: {}, program: async () => (program(), {}) });
    if (result.error) throw result.error;
    return serialized;
  } finally {
    closure.serializeFunction = original;
  }
}

describe("Dynamic providers: one object per kind", () => {
  // The SDK's cache outlives a run: an earlier test may have serialized the shared object already
  // (0); one provider per resource would be serialized once per resource (3).
  it("three resources of each kind serialize their provider at most once per kind", async () => {
    const serialized = await serializedDuring(() => {
      for (const i of [1, 2, 3]) {
        new ScaffoldFile(`file-${i}`, { owner: "o", repository: "r", branch: "main", path: `f${i}`, content: "x", message: "m" });
        new KindCluster(`kind-${i}`, { name: `k${i}`, workers: 0 });
      }
    });
    for (const type of ["scaffoldFileProvider", "kindProvider"]) {
      const objects = new Set(serialized.filter((p) => (p as { exportName?: string }).exportName === type));
      assert.ok(objects.size <= 1, `${type}: ${objects.size} provider objects serialized for 3 resources`);
    }
  });

  it("an injected client still gets its own provider (tests and the rig inject one), and the spy sees it", async () => {
    const request = async () => ({ status: 404, body: {} });
    const serialized = await serializedDuring(() => {
      new ScaffoldFile("injected-1", { owner: "o", repository: "r", branch: "main", path: "a", content: "x", message: "m" }, undefined, request);
      new ScaffoldFile("injected-2", { owner: "o", repository: "r", branch: "main", path: "b", content: "x", message: "m" }, undefined, request);
    });
    assert.equal(new Set(serialized.filter((p) => p instanceof ScaffoldFileProvider)).size, 2);
  });
});

/** `Resource.callsites`, a private static of the SDK's Resource (resource.d.ts) that the build replaces. */
const sdkCallsites = () => (pulumi.Resource as unknown as { callsites: unknown }).callsites;

describe("Building without debug stacks", () => {
  it("restores Error.stackTraceLimit after the build, and after a build that throws (its message kept)", () => {
    const before = Error.stackTraceLimit;
    assert.equal(withoutDebugStacks(() => Error.stackTraceLimit), 0);
    assert.equal(Error.stackTraceLimit, before);
    const callsites = sdkCallsites();
    assert.throws(() => withoutDebugStacks(() => { throw new Error("tenant team-a: broken"); }), /tenant team-a: broken/);
    assert.equal(Error.stackTraceLimit, before);
    assert.equal(sdkCallsites(), callsites, "the SDK's callsites is restored after a build that throws");
  });

  it("a whole program run leaves the stack limit as it found it, and config errors keep their stacks", async () => {
    const before = Error.stackTraceLimit;
    const ok = await runProgram({ stack: "staging", config: stackConfig("staging") });
    if (ok.error) throw ok.error;
    assert.equal(Error.stackTraceLimit, before);
    const bad = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:tenants": [{ name: "Not A Name" }] } });
    assert.ok(bad.error, "an invalid tenant name must fail");
    assert.match(String(bad.error.stack), /\n\s+at /, "a config error is raised before the build, with its stack");
    assert.equal(Error.stackTraceLimit, before);
  });
});

// The SDK's internal debug-promise module (its typings export nothing): the one every SDK caller
// calls through, the flag its leak report reads, and the report itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as Debuggable & {
  leakedPromises(): [Set<Promise<unknown>>, string];
  promiseDebugString(p: Promise<unknown>): string;
};

/** Runs `run` with `Error.prepareStackTrace` counting the stacks formatted with a frame of the SDK's debuggable.js. */
async function debugStacksDuring(run: () => Promise<void>): Promise<number> {
  const prepare = Error.prepareStackTrace;
  let formatted = 0;
  Error.prepareStackTrace = (error, frames) => {
    if (frames.some((f) => /runtime[\\/]debuggable\.js$/.test(f.getFileName() ?? ""))) formatted++;
    return prepare ? prepare(error, frames) : `${error}\n${frames.map((f) => `    at ${f}`).join("\n")}`;
  };
  try {
    await run();
    return formatted;
  } finally {
    Error.prepareStackTrace = prepare;
  }
}

describe("Debug stacks nobody reads (skipUnreadDebugStacks)", () => {
  const staging = async () => {
    const run = await runProgram({ stack: "staging", config: stackConfig("staging") });
    if (run.error) throw run.error;
    assert.ok(run.resources.length > 60, `${run.resources.length} resources: the staging stack did not run whole`);
  };

  /** Runs `run` with the SDK's leak-report flag (PULUMI_DEBUG_PROMISE_LEAKS) at `on`, and restores it. */
  async function withLeakFlag<T>(on: boolean, run: () => T | Promise<T>): Promise<T> {
    const flag = debuggable.debugPromiseLeaks;
    debuggable.debugPromiseLeaks = on;
    try {
      return await run();
    } finally {
      debuggable.debugPromiseLeaks = flag;
    }
  }

  it("a program run formats no stack for the SDK's debug promises, after the build too; with the leak report's PULUMI_DEBUG_PROMISE_LEAKS it formats them (the control)", async () => {
    // None: what the program installed is what the SDK calls (through its exports object).
    assert.equal(await withLeakFlag(false, () => debugStacksDuring(staging)), 0, "debug promises formatted a stack");
    // The build's own are stackless either way (withoutDebugStacks); the registrations'
    // asynchronous halves make about 480 in this program.
    assert.ok((await withLeakFlag(true, () => debugStacksDuring(staging))) > 100, "with the leak report's flag, the debug promises have their stacks");
  });

  it("the leak report is as it was: a promise left pending is counted, and printed with its stack when the flag is set; the stack limit is restored, also after the SDK throws", async () => {
    await withLeakFlag(false, skipUnreadDebugStacks);
    const installed = debuggable.debuggablePromise;
    await withLeakFlag(false, skipUnreadDebugStacks); // idempotent: the same function, not a wrapper of it
    assert.equal(debuggable.debuggablePromise, installed);
    assert.equal(installed.name, "leanDebuggablePromise");
    debuggable.leakedPromises(); // starts from no candidates
    const limit = Error.stackTraceLimit;
    const quiet = new Promise<never>(() => undefined);
    const loud = new Promise<never>(() => undefined);
    await withLeakFlag(false, () => void debuggable.debuggablePromise(quiet, "quiet"));
    assert.equal(Error.stackTraceLimit, limit);
    await withLeakFlag(true, () => void debuggable.debuggablePromise(loud, "loud"));
    // The SDK throws when handed no promise (Object.defineProperty on undefined): the limit is
    // restored and the error keeps a stack.
    const thrown = await withLeakFlag(false, () => {
      try {
        debuggable.debuggablePromise(undefined as unknown as Promise<never>, "nothing");
      } catch (e) {
        return e as Error;
      }
      return undefined;
    });
    assert.ok(thrown instanceof TypeError, "the SDK's own error");
    assert.match(String(thrown.stack), /\n\s+at .*perf\.spec\.ts/);
    assert.equal(Error.stackTraceLimit, limit);
    const [leaked, message] = debuggable.leakedPromises();
    assert.equal(leaked.size, 2);
    assert.match(message, /2 promises were still active/);
    assert.match(debuggable.promiseDebugString(quiet), /^CONTEXT\(\d+\): quiet\nSTACK_TRACE:\nError$/, "no stack without the flag");
    assert.match(debuggable.promiseDebugString(loud), /^CONTEXT\(\d+\): loud\nSTACK_TRACE:\nError\n[\s\S]*\n\s+at .*perf\.spec\.ts/, "the stack, with the flag");
  });
});

describe("Stack traces in state: the source position and two callers", () => {
  it(`every resource of a program with tenants sends the first ${STACK_FRAMES} frames of the stack the SDK would send, the first its source position`, async () => {
    const callsites = sdkCallsites();
    const run = await runProgram({ stack: "staging", config: stackConfig("staging") });
    if (run.error) throw run.error;
    assert.equal(sdkCallsites(), callsites, "the SDK's callsites is restored after the build");
    // The control: the same program with stacks kept whole (what the SDK's leak report asks for).
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
    const whole = await runProgram({ stack: "staging", config: stackConfig("staging") }).finally(() => delete process.env.PULUMI_DEBUG_PROMISE_LEAKS);
    if (whole.error) throw whole.error;
    assert.ok(run.resources.filter((r) => /payments/.test(r.urn)).length > 20, "the fixture has tenant payments");
    assert.equal(run.resources.length, whole.resources.length);
    let cut = 0;
    for (const r of run.resources) {
      const full = whole.resources.find((w) => w.urn === r.urn)!.stackTrace;
      assert.ok(r.stackTrace.length >= 1 && r.stackTrace.length <= STACK_FRAMES, `${r.urn}: ${r.stackTrace.length} frames`);
      // Every frame the SDK places is placed the same; where the SDK's pattern reads no position
      // (an anonymous function's frame, named only from further down the whole stack), the cut
      // stack reads it from the frame's other form.
      r.stackTrace.forEach((frame, i) => full[i] && assert.equal(frame, full[i], `${r.urn}: frame ${i}`));
      assert.equal(r.stackTrace[0], r.sourcePosition, `${r.urn}: the first frame is the source position`);
      assert.equal(r.sourcePosition, whole.resources.find((w) => w.urn === r.urn)!.sourcePosition || r.sourcePosition, `${r.urn}: the source position`);
      if (full.length > STACK_FRAMES) cut++;
    }
    assert.ok(cut > run.resources.length * 0.9, `the whole stack is longer for ${cut} of ${run.resources.length} resources`);
    // A tenant's Namespace is made in components/tenant.ts, as before the cut.
    const ns = run.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.name === "payments")!;
    assert.match(ns.sourcePosition, /components\/tenant\.ts#/);
  });

  it("outside the build the SDK's whole stack is sent, so the cut is what keeps state small (the control)", async () => {
    const run = await runProgram({
      stack: "dynamic",
      config: {},
      program: async () => {
        // The same resource, made from six frames of the program's own, with and without the cut.
        const nested = (depth: number, make: () => void): void => (depth === 0 ? make() : nested(depth - 1, make));
        const make = (name: string) => nested(5, () => new ScaffoldFile(name, { owner: "o", repository: "r", branch: "main", path: name, content: "x", message: "m" }));
        make("outside");
        withoutDebugStacks(() => make("inside"));
        return {};
      },
    });
    if (run.error) throw run.error;
    const frames = (name: string) => run.resources.find((r) => r.name === name)!.stackTrace;
    assert.ok(frames("outside").length > STACK_FRAMES + 2, `outside: ${frames("outside").length} frames`);
    assert.equal(frames("inside").length, STACK_FRAMES);
    assert.deepEqual(frames("inside"), frames("outside").slice(0, STACK_FRAMES), "the same first frames: the skip is unchanged");
  });
});

describe("Start gates (startAfter): an order without a dependency in state", () => {
  class Thing extends pulumi.CustomResource {
    constructor(name: string, opts?: pulumi.CustomResourceOptions) {
      super("gate:index:Thing", name, {}, opts);
    }
  }

  it("what waits registers after the gate's resources, and records no dependency on them", async () => {
    const run = await runProgram({
      stack: "gate",
      config: {},
      program: async () => {
        const first = new Thing("first");
        const second = new Thing("second", { dependsOn: [first] });
        const gated = new Thing("gated", { dependsOn: startAfter([second]) });
        new Thing("free");
        return { gated: gated.urn };
      },
    });
    if (run.error) throw run.error;
    const names = run.resources.map((r) => r.name);
    assert.ok(names.indexOf("gated") > names.indexOf("second"), `registered in the order ${names.join(", ")}`);
    assert.ok(names.indexOf("free") < names.indexOf("second"), `the ungated one does not wait: ${names.join(", ")}`);
    assert.deepEqual(run.resources.find((r) => r.name === "gated")!.dependencies, []);
  });

  it("a gate whose resource fails fails what waits, with that error, where the SDK rejects the URN (here, under the mocks), instead of hanging", async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => {
          if (a.name === "broken") throw new Error("the create failed");
          return { id: `${a.name}-id`, state: a.inputs };
        },
        call: () => ({}),
      },
      "gate",
      "gate",
      false,
    );
    const broken = new Thing("broken");
    const gated = new Thing("gated", { dependsOn: startAfter([broken]) });
    const settled = await Promise.race([
      outputPromise(gated.urn).then(() => "registered", (e: Error) => `failed: ${e.message}`),
      new Promise<string>((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5000)),
    ]);
    assert.match(settled, /^failed: .*the create failed/);
  });
});

describe("TypeScript: the program is transpiled by SWC", () => {
  it("ts-node, as the Pulumi CLI's runner registers it (@pulumi/pulumi cmd/run/run.js: the project's tsconfig.json, transpileOnly left to it), transpiles with SWC: 2.2-2.9 s to load the program instead of 4.0-4.6 s", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tsnode = require("ts-node") as typeof import("ts-node");
    const service = tsnode.create({ project: "tsconfig.json", transpileOnly: undefined });
    assert.equal(service.options.swc, true);
    // SWC's emit, not TypeScript's (`async () => 1`).
    assert.match(service.compile("export = async (): Promise<number> => 1;", `${process.cwd()}/probe.ts`), /module\.exports = async \(\)=>1;/);
  });
});
