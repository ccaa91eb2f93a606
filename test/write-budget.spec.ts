/**
 * GitHub's hourly limit on content-generating requests (500), checked in the preview
 * (components/github/write-budget.ts): the stack exports each part's content writes, reads what its last
 * update exported, and warns when the new parts would pass the limit.
 */
import { strict as assert } from "assert";
import { newWrites, waveWarning } from "../components/github/write-budget";
import { runProgram } from "./harness";
import { countWrites, generatedFiles } from "../scripts/lib/github-model";

const tenants = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ name: `team-${String(from + i).padStart(3, "0")}` }));
const owning = (list: unknown[]) => ({ "github:owner": "acme-org", "fleet:repository": { create: true }, "fleet:tenants": list });

describe("GitHub write budget: warned in the preview", function () {
  // Each evaluation of 100-300 tenants under the mocks takes 5-10 s here and about twice that on a
  // slower CI machine (a 260-tenant test passed 20 s there once): give the file room, not each test.
  this.timeout(180_000);
  it("counts only the parts the last update did not export", () => {
    assert.deepEqual(newWrites({ fleet: 4, "tenant:a": 2 }, { fleet: 4, "tenant:a": 2, "tenant:b": 2, "tenant:c": 3 }), { parts: ["tenant:b", "tenant:c"], writes: 5 });
    assert.deepEqual(newWrites(undefined, { fleet: 4, "tenant:a": 2 }).writes, 6, "a first update: everything is new");
    assert.equal(waveWarning("staging", undefined, { a: 250, b: 250 }, 500), undefined, "500 fit in the hour");
    assert.match(String(waveWarning("staging", undefined, { a: 250, b: 251 }, 500)), /up to 501 GitHub content-generating requests .*limit of 500 an hour \(fleet:repository\.contentWritesPerHour\)/);
    assert.match(String(waveWarning("staging", undefined, { a: 3, b: 3 }, 5)), /up to 6 .*limit of 5 an hour/, "a GitHub Enterprise Server's own limit");
  });

  it("the program's own count of each part matches the GitHub model's count of what it registers", async () => {
    const result = await runProgram({ stack: "staging", config: owning([...tenants(3), { name: "legacy", repository: { name: "legacy-gitops", create: false } }]) });
    assert.equal(result.error, undefined, result.error?.message);
    const exported = result.outputs?.githubContentWrites as Record<string, number>;
    assert.deepEqual(Object.keys(exported).sort(), [
      "fleet", "fleet/key-gen1", "tenant-template", "tenant:legacy", "tenant:legacy/key-gen1",
      "tenant:team-000", "tenant:team-000/key-gen1", "tenant:team-001", "tenant:team-001/key-gen1", "tenant:team-002", "tenant:team-002/key-gen1",
    ]);
    assert.equal(Object.values(exported).reduce((a, b) => a + b, 0), countWrites(result.resources, generatedFiles(result.resources)).content);
    assert.deepEqual([exported["tenant:team-000"], exported["tenant:legacy"]], [1, 1], "generated: the repository; existing: flux/<env>");
  });

  it("a key rotation counts one write per key; a stack last updated without the map is not warned; a failed read is a warning", async () => {
    // Under a limit of 100 an hour (a GitHub Enterprise Server's own), to keep the run small.
    const limited = (keyGeneration: number) => ({ ...owning(tenants(120)), "fleet:repository": { create: true, keyGeneration, contentWritesPerHour: 100 } });
    const base = await runProgram({ stack: "staging", config: limited(1) });
    const rotation = await runProgram({ stack: "staging", preview: true, config: limited(2), previousOutputs: { githubContentWrites: base.outputs?.githubContentWrites } });
    assert.equal(rotation.warnings.length, 1, rotation.warnings.join("\n"));
    assert.match(rotation.warnings[0], /up to 121 GitHub content-generating requests \(121 new: fleet\/key-gen2, tenant:team-000\/key-gen2/);
    const upgraded = await runProgram({ stack: "staging", preview: true, config: limited(1), previousOutputs: { stack: "staging", tenants: {} } });
    assert.deepEqual(upgraded.warnings, [], "outputs of an older program: what is new is unknown, so no false alarm");
    const failing = await runProgram({
      stack: "staging", preview: true, config: owning(tenants(2)),
      calls: { "pulumi:pulumi:readStackOutputs": () => { throw new Error("backend unavailable"); } },
    });
    assert.equal(failing.error, undefined, failing.error?.message);
    assert.equal(failing.warnings.length, 1);
    assert.match(failing.warnings[0], /^stack staging: could not read the last update's outputs, so GitHub's hourly write limit is not checked: \S/);
  });

  it("a preview adding 260 tenants (520 writes) to a running stack warns, naming the limit and the count; one adding 10 to 300 does not", async function () {
    const base = await runProgram({ stack: "staging", config: owning(tenants(40)) });
    const previousOutputs = { githubContentWrites: base.outputs?.githubContentWrites };
    const large = await runProgram({ stack: "staging", preview: true, config: owning(tenants(300)), previousOutputs });
    assert.equal(large.error, undefined, large.error?.message);
    assert.equal(large.warnings.length, 1, large.warnings.join("\n"));
    assert.match(large.warnings[0], /^stack staging: this update creates up to 520 GitHub content-generating requests \(520 new: tenant:team-040, tenant:team-040\/key-gen1, .* and 510 more\), past GitHub's limit of 500 an hour/);
    assert.match(large.warnings[0], /Onboard in waves .*docs\/github\.md/);
    // The large wave's own export: what the stack holds once it is up.
    const small = await runProgram({ stack: "staging", preview: true, config: owning(tenants(310)), previousOutputs: { githubContentWrites: large.outputs?.githubContentWrites } });
    assert.deepEqual(small.warnings, []);
  });

  it("a first preview of a stack with 260 tenants warns; the update itself does not repeat it", async () => {
    const first = await runProgram({ stack: "staging", preview: true, config: owning(tenants(260)) });
    assert.equal(first.warnings.length, 1);
    assert.match(first.warnings[0], /creates up to 5\d\d GitHub content-generating requests/);
    const update = await runProgram({ stack: "staging", config: owning(tenants(260)) });
    assert.deepEqual(update.warnings, []);
  });
});
