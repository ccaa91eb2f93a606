/**
 * What keeps evaluation near the SDK's floor (components/perf.ts; numbers from `npm run bench`):
 * - the dynamic providers are shared: the SDK serializes a provider once per provider object
 *   (`providerCache` in @pulumi/pulumi dynamic/index.js), so a provider built per resource would
 *   cost one closure serialization per resource;
 * - resources are built without the SDK's debug stacks, and the limit is always restored.
 */
import * as assert from "assert";
import { runProgram, stackConfig } from "./harness";
import { withoutDebugStacks } from "../components/perf";
import { BranchExists } from "../components/github/branch-exists";
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
        new BranchExists(`branch-${i}`, { owner: "o", repository: `r${i}`, branch: "main" });
        new KindCluster(`kind-${i}`, { name: `k${i}`, workers: 0 });
      }
    });
    for (const type of ["scaffoldFileProvider", "branchExistsProvider", "kindProvider"]) {
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

describe("Building without debug stacks", () => {
  it("restores Error.stackTraceLimit after the build, and after a build that throws (its message kept)", () => {
    const before = Error.stackTraceLimit;
    assert.equal(withoutDebugStacks(() => Error.stackTraceLimit), 0);
    assert.equal(Error.stackTraceLimit, before);
    assert.throws(() => withoutDebugStacks(() => { throw new Error("tenant team-a: broken"); }), /tenant team-a: broken/);
    assert.equal(Error.stackTraceLimit, before);
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
