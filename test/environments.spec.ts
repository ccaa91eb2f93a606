/**
 * Several clusters per environment: what is shared by the environment (tenant paths, the
 * infrastructure path) and what stays per stack (clusters/<stack>, deploy key titles, kind name).
 */
import { strict as assert } from "assert";
import { parse as parseYaml } from "yaml";
import { one, RunResult, runProgram, stackConfig } from "./harness";

const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
const INSTANCE = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance";
const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const FILE = "pulumi-nodejs:dynamic/fleet:ScaffoldFile";
const KIND = "pulumi-nodejs:dynamic/fleet:KindCluster";

function regional(stack: string): Promise<RunResult> {
  const production = stackConfig("production");
  return runProgram({
    stack,
    config: { ...production, "fleet:environment": "production", "fleet:cluster": { ...(production["fleet:cluster"] as object), name: `fleet-${stack}` } },
  });
}

describe("Environments: several clusters of one environment", () => {
  it("production-eu applies the environment's tenant and infrastructure paths, and syncs and titles per cluster", async () => {
    const result = await regional("production-eu");
    assert.equal(result.error, undefined, result.error?.message);
    const paths = result.resources.filter((r) => r.type === KUSTOMIZATION).map((r) => r.inputs.spec.path);
    assert.ok(paths.includes("./flux/production"), paths.join(", "));
    assert.ok(!paths.some((p) => p.includes("production-eu")), "no tenant path per cluster");
    const infrastructure = result.resources.find((r) => r.type === FILE && r.inputs.path === "clusters/production-eu/infrastructure.yaml");
    assert.ok(infrastructure, "the cluster's own clusters/<stack> path");
    assert.equal(parseYaml(infrastructure.inputs.content).spec.path, "./infrastructure/production");
    assert.equal(one(result, INSTANCE).inputs.spec.sync.path, "clusters/production-eu");
    const titles = new Set(result.resources.filter((r) => r.type === DEPLOY_KEY).map((r) => r.inputs.title));
    assert.deepEqual([...titles], ["flux-production-eu"]);
    assert.equal(one(result, KIND).inputs.name, "fleet-production-eu");
    assert.equal(result.outputs?.environment, "production");
    assert.equal(result.outputs?.stack, "production-eu");
  });

  it("two clusters of one environment register the same tenant objects, apart from per-cluster names", async () => {
    const eu = await regional("production-eu");
    const us = await regional("production-us"); // one at a time: the mocks are process-wide
    const tenantObjects = (run: RunResult) =>
      run.resources
        .filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release" && r.type !== INSTANCE)
        .map((r) => JSON.stringify([r.type, r.name, r.inputs, r.protect]).replace(/mock-[^"\\]*/g, "<key>"))
        .sort();
    assert.deepEqual(tenantObjects(eu), tenantObjects(us));
    const files = (run: RunResult) => run.resources.filter((r) => r.type === FILE).map((r) => r.inputs.path).sort();
    assert.deepEqual(
      files(eu).map((p) => p.replace("production-eu", "<stack>")),
      files(us).map((p) => p.replace("production-us", "<stack>")),
      "the same files, each cluster writing its own clusters/<stack>",
    );
  });
});
