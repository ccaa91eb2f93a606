/**
 * npm run upgrade (scripts/upgrade.ts) and its health gate (scripts/lib/fleet-status.ts): the stack
 * file edit, what a resumed rollout does, and what passes the gate. The real tier runs a rollout on
 * the rig (test/real/fleet.spec.ts, 6e): refused by the preflight, stopped by the gate, resumed; and one across controller binaries (6f).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { Cell, cellsOf, FluxObject, instancesAt, passesGate } from "../scripts/lib/fleet-status";
import { REPO_ROOT } from "../scripts/lib/evaluate";
import { duration, remaining, withFluxVersion } from "../scripts/upgrade";

describe("npm run upgrade: the rollout", () => {
  it("sets fleet:flux.version in a stack file and keeps every comment and other key", () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.staging.yaml"), "utf8");
    const out = withFluxVersion(text, "2.10.x");
    assert.equal(parse(out).config["fleet:flux"].version, "2.10.x");
    assert.deepEqual({ ...parse(out).config, "fleet:flux": { ...parse(out).config["fleet:flux"], version: parse(text).config["fleet:flux"].version } }, parse(text).config, "nothing else changes");
    const comments = (s: string) => s.split("\n").filter((l) => l.trim().startsWith("#"));
    assert.deepEqual(comments(out), comments(text));
    assert.equal(parse(withFluxVersion("config:\n  github:owner: acme\n", "2.9.x")).config["fleet:flux"].version, "2.9.x", "added where absent");
  });

  it("resumes at the stack that stopped, only for the same version", () => {
    const stacks = ["staging", "production-eu", "production-us"];
    assert.deepEqual(remaining(stacks, "2.9.x", undefined, false), stacks);
    assert.deepEqual(remaining(stacks, "2.9.x", { version: "2.9.x", done: ["staging"] }, true), ["production-eu", "production-us"]);
    assert.throws(() => remaining(stacks, "2.9.x", { version: "2.8.x", done: ["staging"] }, true), /a rollout of 2\.8\.x, not 2\.9\.x/);
    assert.throws(() => remaining(stacks, "2.9.x", undefined, true), /nothing to resume/);
  });

  it("reads durations, and refuses what is not one", () => {
    assert.equal(duration("90s"), 90_000);
    assert.equal(duration("10m"), 600_000);
    assert.throws(() => duration("10"), /not a duration; write e\.g\. 90s/);
  });
});

describe("npm run upgrade: the health gate", () => {
  const AT = "2026-12-07T10:00:00.000Z";
  const ks = (status: FluxObject["status"], spec: FluxObject["spec"] = {}): FluxObject => ({
    kind: "Kustomization", metadata: { name: "shop", namespace: "shop", labels: { "toolkit.fluxcd.io/tenant": "shop" } }, spec: { sourceRef: { name: "shop" }, ...spec }, status,
  });
  const cell = (objects: FluxObject[]): Cell => cellsOf({ stack: "staging", tenants: { shop: { namespaces: ["shop"] } } }, objects, new Map())[0];
  const readyTrue = [{ type: "Ready", status: "True" }];

  it("passes a tenant Ready at an applied revision that handled the gate's reconcile request", () => {
    assert.equal(passesGate(cell([ks({ conditions: readyTrue, lastAppliedRevision: "main@sha1:abc", lastHandledReconcileAt: AT })]), AT), true);
  });

  it("does not pass one still Ready from before the upgrade (the request not handled), failing, or missing", () => {
    assert.equal(passesGate(cell([ks({ conditions: readyTrue, lastAppliedRevision: "main@sha1:abc", lastHandledReconcileAt: "2026-12-07T09:00:00Z" })]), AT), false, "not yet reconciled on the new controllers");
    assert.equal(passesGate(cell([ks({ conditions: [{ type: "Ready", status: "False", reason: "BuildFailed" }], lastAppliedRevision: "main@sha1:abc", lastHandledReconcileAt: AT })]), AT), false, "failing");
    assert.equal(passesGate(cell([ks({ conditions: readyTrue, lastHandledReconcileAt: AT })]), AT), false, "no revision applied");
    assert.equal(passesGate(cell([]), AT), false, "missing");
  });

  it("waits first for the FluxInstance Ready at the target version: until then the old controllers answer", () => {
    const fi = (revision: string, ready: string) => ({ status: { lastAppliedRevision: revision, conditions: [{ type: "Ready", status: ready }] } });
    assert.equal(instancesAt([fi("v2.9.4@sha256:01", "True")], "2.9.4"), true);
    assert.equal(instancesAt([fi("v2.8.1@sha256:01", "True")], "2.9.4"), false, "the old revision, Ready");
    assert.equal(instancesAt([fi("v2.9.4@sha256:01", "Unknown")], "2.9.4"), false, "rolling out");
    assert.equal(instancesAt([fi("v2.9.41@sha256:01", "True")], "2.9.4"), false, "another version");
    assert.equal(instancesAt([], "2.9.4"), false, "no FluxInstance");
  });

  it("does not pass a tenant whose own HelmRelease fails; passes a suspended one", () => {
    const failingRelease: FluxObject = { kind: "HelmRelease", metadata: { name: "web", namespace: "shop" }, status: { conditions: [{ type: "Ready", status: "False", reason: "InstallFailed", message: "boom" }] } };
    assert.equal(passesGate(cell([ks({ conditions: readyTrue, lastAppliedRevision: "main@sha1:abc", lastHandledReconcileAt: AT }), failingRelease]), AT), false);
    assert.equal(passesGate(cell([ks({ conditions: readyTrue }, { suspend: true })]), AT), true);
  });
});
