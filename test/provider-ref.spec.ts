/**
 * The dynamic providers are stored as references to their modules (components/provider-ref.ts):
 * what the SDK serializes is small, and Pulumi's dynamic-provider host can run it.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { providerRef } from "../components/provider-ref";
import { ok, RunResult, runProgram } from "./harness";
import { branchExistsProvider } from "../components/github/branch-exists";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString: (code: string) => { handler(): any } = require("require-from-string");

describe("Dynamic providers: stored as a reference to their module", () => {
  it("each of the four stores under 1.2 KB in state, without its code, and once configured as the host does has its provider's methods (the state per tenant cannot silently grow back)", async () => {
    const { scaffoldFileProvider } = await import("../components/github/scaffold-file");
    const { bootstrapKeyRevocationProvider } = await import("../components/github/bootstrap");
    const { kindProvider } = await import("../components/cluster/kind");
    const refs = {
      "./components/github/scaffold-file": ["scaffoldFileProvider", scaffoldFileProvider],
      "./components/github/branch-exists": ["branchExistsProvider", branchExistsProvider],
      "./components/github/bootstrap": ["bootstrapKeyRevocationProvider", bootstrapKeyRevocationProvider],
      "./components/cluster/kind": ["kindProvider", kindProvider],
    } as const;
    for (const [modulePath, [exportName, provider]] of Object.entries(refs)) {
      // As the SDK serializes what a resource is given (dynamic/index.js, serializeProvider): the object alone.
      const ref = providerRef(modulePath, exportName);
      const { text } = await pulumi.runtime.serializeFunction(() => ref, { allowSecrets: true });
      // 2.6 KB with a forwarding function per method.
      assert.ok(text.length < 1200, `${exportName}: ${text.length} characters`);
      assert.doesNotMatch(text, /fetchGitHub|api\.github\.com|kind create cluster/, `${exportName}: no provider code in it`);
      assert.match(text, new RegExp(`"${exportName}"`));
      // As the host does (cmd/dynamic-provider/index.js, getProvider): deserialize, configure, then call.
      const stored = requireFromString(text).handler();
      const methods = ["check", "diff", "create", "read", "update", "delete"];
      assert.deepEqual(methods.filter((m) => typeof stored[m] === "function"), [], `${exportName}: no method before configure`);
      await stored.configure({ config: {} });
      const has = (o: any) => methods.filter((m) => typeof o[m] === "function");
      assert.deepEqual(has(stored), has(provider), `${exportName}: the methods its provider has`);
      assert.ok(has(stored).length >= 4, exportName);
    }
  });

  it("a reference whose module no longer exports its provider says so when the host configures it", async () => {
    const { text } = await pulumi.runtime.serializeFunction(() => providerRef("./components/github/branch-exists", "movedProvider"), { allowSecrets: true });
    const stored = requireFromString(text).handler();
    assert.throws(() => stored.configure({ config: {} }), /components\/github\/branch-exists exports no movedProvider: the dynamic provider of this resource moved/);
  });

  it("what each stores is pinned: a change of it (its code, the transpiler, the SDK's serializer) shows in every existing stack as an update of every dynamic resource", async () => {
    // The stored text is each resource's `__provider`, and a changed one is an update (diffOf in
    // github/client.ts, kind's diff): a change here needs an upgrade note in docs/operations.md
    // ("Upgrading"), then new pins. ts-node's SWC emit (tsconfig.json), as under the CLI.
    const pins: Record<string, string> = {
      scaffoldFileProvider: "e38a20d3e2dcbbbf1933fc618bf22301fd3711d53567b93a1ee238603ee3eb33",
      branchExistsProvider: "b8c4a06e3d89f7e2e0d7477d4b54adcb83e0487e34e57c826b31d34d620d936d",
      bootstrapKeyRevocationProvider: "05968c45411b86b32e1dd447c9381c6513a180ad5990d4328da47a7d21729873",
      kindProvider: "01bd504e234d90bb54e2533dce787fe9d2ba15b159ee3a1e93ba826c3fb8b462",
    };
    const modules: Record<string, string> = {
      scaffoldFileProvider: "./components/github/scaffold-file",
      branchExistsProvider: "./components/github/branch-exists",
      bootstrapKeyRevocationProvider: "./components/github/bootstrap",
      kindProvider: "./components/cluster/kind",
    };
    for (const [exportName, modulePath] of Object.entries(modules)) {
      const ref = providerRef(modulePath, exportName);
      const { text } = await pulumi.runtime.serializeFunction(() => ref, { allowSecrets: true });
      assert.equal(createHash("sha256").update(text).digest("hex"), pins[exportName], `${exportName}: the stored __provider changed`);
    }
  });

  it("a tenant adds 13 resources and under 6 KB of inputs to the state (5.2 KB measured; 9.4 KB with the branch wait a resource and the stored providers' forwarders, 16 KB with its own five admission policies and bindings, 33 KB when the providers' code was stored), under 1.8 KB of stack traces and at most 41 dependencies, and every dynamic resource's __provider is under 1.2 KB", async () => {
    const config = (n: number) => ({ "github:owner": "acme-org", "fleet:repository": { create: true }, "fleet:tenants": Array.from({ length: n }, (_, i) => ({ name: `t${i}` })) });
    const run = async (n: number) => ok(await runProgram({ stack: "staging", config: config(n) }));
    const [ten, twenty] = [await run(10), await run(20)];
    const bytes = (r: RunResult) => r.resources.reduce((sum, x) => sum + JSON.stringify(x.rawInputs).length, 0);
    const perTenant = (bytes(twenty) - bytes(ten)) / 10;
    assert.ok(perTenant < 6_000, `${perTenant} bytes of inputs per tenant`);
    // 25 while each tenant had its own five admission policies and bindings (test/policy.spec.ts pins
    // the pack's size), 15 while its repository was a component of its own (test/rename.spec.ts pins
    // one), 14 while the branch wait was a resource (test/tenants.spec.ts pins the wait).
    assert.equal((twenty.resources.length - ten.resources.length) / 10, 13, "resources per tenant");
    // The state keeps every dependency as a URN (about 140 bytes each): 116 per tenant while each
    // tenant binding also listed every shared policy and binding (test/policy.spec.ts pins that
    // away), 60 after (66 while the start after the fleet's scaffold was a dependency; now a start gate,
    // test/tenants.spec.ts), 55 once the tenant's own policies were gone, 43 with its GitRepository
    // waiting for the pack's bindings only (test/policy.spec.ts), 41 without the branch wait's resource.
    const edges = (r: RunResult) => r.resources.reduce((sum, x) => sum + x.dependencies.length, 0);
    const edgesPerTenant = (edges(twenty) - edges(ten)) / 10;
    assert.ok(edgesPerTenant <= 41, `${edgesPerTenant} dependencies per tenant`);
    // The engine keeps each resource's stack trace too (components/perf.ts): 1.5 KB per tenant
    // measured here (1.8 KB with the branch wait a resource, 2.8 KB with its own policies), 9.2 KB with the SDK's whole stack under these mocks (about 15 KB under the CLI,
    // whose runner adds its frames).
    const stacks = (r: RunResult) => r.resources.reduce((sum, x) => sum + JSON.stringify(x.stackTrace).length, 0);
    const stackPerTenant = (stacks(twenty) - stacks(ten)) / 10;
    assert.ok(stackPerTenant < 1_800, `${stackPerTenant} bytes of stack traces per tenant`);
    const dynamic = twenty.resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"));
    assert.ok(dynamic.length >= 20, "every tenant has a scaffold file");
    for (const r of dynamic) assert.ok(r.inputs.__provider.length < 1200, `${r.type}::${r.name}: ${r.inputs.__provider.length}`);
  });

  it("serializes to about 1 KB that a fresh node process, in the project directory, runs as the host does", async () => {
    const ref = providerRef("./components/github/branch-exists", "branchExistsProvider");
    const { text } = await pulumi.runtime.serializeFunction(() => ref, { allowSecrets: true });
    assert.ok(text.length < 1200, `${text.length} characters`);
    assert.doesNotMatch(text, /api\.github\.com/, "the client is not in it");
    // cmd/dynamic-provider: `requireFromString(props.__provider).handler()`, then `configure`, in a process without ts-node.
    const script = `
      const provider = require("require-from-string")(process.argv[1]).handler();
      const same = { owner: "o", repository: "r", branch: "main", timeoutSeconds: 1 };
      Promise.resolve(provider.configure && provider.configure({ config: {} }))
        .then(() => Promise.all([provider.diff("id", same, same), provider.diff("id", same, { ...same, branch: "dev" }), provider.read("id", same)]))
        .then((r) => console.log(JSON.stringify(r)));`;
    const out = execFileSync(process.execPath, ["-e", script, text], { cwd: process.cwd(), encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    assert.deepEqual(JSON.parse(out), [{ changes: false, replaces: [] }, { changes: true, replaces: ["branch"], deleteBeforeReplace: false }, { id: "id", props: { owner: "o", repository: "r", branch: "main", timeoutSeconds: 1 } }]);
  });
});
