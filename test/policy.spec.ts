/**
 * The tenant admission policy pack (components/manifests/policy.ts): rendered from stack config,
 * valid against the upstream schemas, and each rule's CEL evaluated on fixtures that must be
 * admitted or refused, with a maintained CEL evaluator (@marcbachmann/cel-js). The real API
 * server enforces the same fixtures on the real tier (test/real/fleet.spec.ts, 7).
 */
import { strict as assert } from "assert";
import { POLICY_RULES } from "../components/manifests/policy";
import { one, Registered, RunResult, runProgram, stackConfig } from "./harness";
import { PolicyFixture, policyFixtures, serviceAccountUser } from "./policy-fixtures";
import { esmImport, validateObject } from "./schemas";

const VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";
const BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

const config = (tenants: unknown[], flux: object = {}) => ({
  ...stackConfig("staging"),
  "fleet:flux": { ...(stackConfig("staging")["fleet:flux"] as object), ...flux },
  "fleet:tenants": tenants,
});

function ok(result: RunResult): RunResult {
  assert.equal(result.error, undefined, result.error?.message);
  return result;
}

/** Which rule matches a fixture: its group and plural resource (or the wildcard of its subresource) in the rule's resourceRules. */
function matches(policy: Registered, fixture: PolicyFixture): boolean {
  const object = fixture.object;
  const group = object.apiVersion.includes("/") ? object.apiVersion.split("/")[0] : "";
  const kind = object.kind.toLowerCase();
  const plural = kind.endsWith("y") ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  const resource = fixture.subresource ? [`${plural}/${fixture.subresource}`, `*/${fixture.subresource}`] : [plural];
  return policy.inputs.spec.matchConstraints.resourceRules.some((r: any) => r.apiGroups.includes(group) && resource.some((x) => r.resources.includes(x)));
}

describe("Admission policy pack: rendered from stack config", () => {
  it("one policy per rule, denying, and each tenant's parameters and bindings to its own namespaces", async () => {
    const result = ok(await runProgram({ stack: "staging", config: config([{ name: "shop", sources: ["https://charts.example.com"] }, { name: "payments", namespaces: ["payments", "payments-jobs"], repository: { readWrite: true }, serviceTypes: ["LoadBalancer"] }]) }));
    assert.deepEqual(result.resources.filter((r) => r.type === VAP).map((r) => r.name).sort(), POLICY_RULES.map((r) => r.name).sort());
    for (const b of result.resources.filter((r) => r.type === BINDING)) assert.deepEqual(b.inputs.spec.validationActions, ["Deny"], b.name);
    const params = one(result, CONFIG_MAP, "flux-system/tenant-policy-shop").inputs;
    assert.equal(params.metadata.namespace, "flux-system", "where no tenant can write");
    assert.deepEqual(params.data, { "source-0": "ssh://git@github.com/acme-org/shop-deploy.git", "source-1": "https://charts.example.com", buckets: "false", imageAutomation: "false" });
    assert.deepEqual(one(result, CONFIG_MAP, "flux-system/tenant-policy-payments").inputs.data["serviceType-LoadBalancer"], "true", "serviceTypes: [LoadBalancer]");
    assert.equal(one(result, CONFIG_MAP, "flux-system/tenant-policy-payments").inputs.data.imageAutomation, "true", "a writable key allows image automation");
    const sources = one(result, BINDING, "fleet-tenant-sources-payments").inputs.spec;
    assert.deepEqual(sources.matchResources.namespaceSelector, { matchLabels: { "toolkit.fluxcd.io/tenant": "payments" } });
    assert.deepEqual(sources.matchResources.objectSelector, {}, "every object in those namespaces");
    assert.deepEqual(sources.paramRef, { name: "tenant-policy-payments", namespace: "flux-system", parameterNotFoundAction: "Deny" });
    // The tenant's GitRepository waits for its bindings, so on removal it goes (finalizer lifted) while they still have their parameters.
    const git = one(result, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "shop/shop");
    for (const name of ["flux-system/tenant-policy-shop", "fleet-tenant-sources-shop"]) {
      assert.ok(git.dependencies.includes(result.resources.find((r) => r.name === name)!.urn), name);
    }
  });

  it("every policy object validates against the upstream Kubernetes schema", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging") }));
    const objects = result.resources.filter((r) => [VAP, BINDING, CONFIG_MAP].includes(r.type));
    assert.ok(objects.length >= POLICY_RULES.length + 2);
    for (const o of objects) await validateObject(o.inputs);
  });

  it("fleet:flux.admissionPolicies: false leaves the pack out", async () => {
    const result = ok(await runProgram({ stack: "staging", config: config([{ name: "shop" }], { admissionPolicies: false }) }));
    assert.deepEqual(result.resources.filter((r) => [VAP, BINDING].includes(r.type) || r.name.includes("tenant-policy")).map((r) => r.name), []);
  });

  it("a source that is not an ssh://, https:// or oci:// URL fails with its key", async () => {
    const result = await runProgram({ stack: "staging", config: config([{ name: "shop", sources: ["git@github.com:x/y"] }]) });
    assert.match(String(result.error?.message), /fleet:tenants\[0\]\.sources\[0\]: "git@github.com:x\/y" is not an ssh:\/\/, https:\/\/ or oci:\/\/ URL/);
  });
});

describe("Admission policy pack: each rule's CEL on fixtures", () => {
  const tenant = {
    namespace: "shop", ownUrl: "ssh://git@github.com/acme-org/shop-deploy.git", otherUrl: "ssh://git@github.com/acme-org/payments-deploy.git",
    allowedUrl: "https://charts.example.com", allowedImage: "ghcr.io/acme-org/shop",
  };
  let run: RunResult;
  let cel: { evaluate: (expression: string, context: object) => unknown };
  before(async () => {
    run = ok(await runProgram({ stack: "staging", config: config([{ name: "shop", sources: [tenant.allowedUrl, `oci://${tenant.allowedImage}`] }]) }));
    cel = await esmImport("@marcbachmann/cel-js");
  });

  /**
   * Whether `policy` admits `fixture`, as the API server decides: a policy whose matchConditions
   * do not all hold does not apply; one that applies admits when every validation holds.
   */
  function admits(policy: Registered, fixture: PolicyFixture): boolean {
    const data = { ...one(run, CONFIG_MAP, "flux-system/tenant-policy-shop").inputs.data, ...(fixture.params ?? {}) };
    const request = {
      operation: fixture.operation ?? "CREATE",
      namespace: fixture.object.metadata.namespace,
      userInfo: { username: fixture.as ?? serviceAccountUser(tenant.namespace, "flux") },
    };
    const context = { object: fixture.object, oldObject: fixture.oldObject ?? null, request, ...(policy.inputs.spec.paramKind ? { params: { data } } : {}) };
    const applies = (policy.inputs.spec.matchConditions ?? []).every((c: any) => cel.evaluate(c.expression, context) === true);
    return !applies || policy.inputs.spec.validations.every((v: any) => cel.evaluate(v.expression, context) === true);
  }

  for (const fixture of policyFixtures(tenant)) {
    it(`${fixture.admitted ? "admits" : "refuses"} ${fixture.title}`, async () => {
      // A fixture the API server would reject anyway proves nothing.
      if (fixture.newerThanModels) assert.match(fixture.newerThanModels, /\.go:\d+/, "names the upstream definition");
      else await validateObject(fixture.object);
      const policy = one(run, VAP, fixture.policy);
      assert.ok(matches(policy, fixture), `${fixture.policy} does not match ${fixture.object.kind}`);
      // Every policy the API server would run on it, not only the one the fixture is about: an
      // admitted object passes all of them, a refused one is refused by its policy alone (so the
      // API server's answer names it: real tier 3b).
      const refusing = run.resources.filter((r) => r.type === VAP && matches(r, fixture) && !admits(r, fixture)).map((r) => r.name);
      assert.deepEqual(refusing, fixture.admitted ? [] : [fixture.policy]);
    });
  }

  it("every rule has a fixture it admits and one it refuses", () => {
    for (const rule of POLICY_RULES) {
      const verdicts = new Set(policyFixtures(tenant).filter((f) => f.policy === rule.name).map((f) => f.admitted));
      assert.deepEqual([...verdicts].sort(), [false, true], rule.name);
    }
  });

  it("the evaluator handles the CEL the policies use: has() on absent fields, exists() over a map, startsWith, string equality", () => {
    assert.equal(cel.evaluate("!has(o.spec.kubeConfig)", { o: { spec: {} } }), true);
    assert.equal(cel.evaluate("has(o.spec.kubeConfig)", { o: { spec: { kubeConfig: {} } } }), true);
    assert.equal(cel.evaluate("m.exists(k, k.startsWith('source-') && m[k] == 'u')", { m: { "source-0": "x", "source-1": "u" } }), true);
    assert.equal(cel.evaluate("m.exists(k, k.startsWith('source-') && m[k] == 'u')", { m: { other: "u" } }), false);
    // all() over a list, `in` over a list and a map, a conditional, string concatenation.
    assert.equal(cel.evaluate("l.all(d, !has(d.namespace) || d.namespace == 'a')", { l: [{ name: "x" }, { name: "y", namespace: "a" }] }), true);
    assert.equal(cel.evaluate("l.all(d, !has(d.namespace) || d.namespace == 'a')", { l: [{ name: "y", namespace: "b" }] }), false);
    assert.equal(cel.evaluate("t in ['x', 'y']", { t: "y" }), true);
    assert.equal(cel.evaluate("('p-' + t) in m", { t: "x", m: { "p-x": "true" } }), true);
    assert.equal(cel.evaluate("('p-' + t) in m", { t: "z", m: { "p-x": "true" } }), false);
    assert.equal(cel.evaluate("k == 'B' ? 'https://' + e : u", { k: "B", e: "h", u: "v" }), "https://h");
  });

  it("the status rule applies to every write (a status write leaves spec alone); every other rule to creates and spec changes only, so finalizers always come off", () => {
    for (const policy of run.resources.filter((r) => r.type === VAP)) {
      const conditions = (policy.inputs.spec.matchConditions ?? []).map((c: any) => c.expression);
      if (policy.name === "fleet-tenant-flux-controllers-only") assert.deepEqual(conditions, [], policy.name);
      else assert.ok(conditions.includes("request.operation == 'CREATE' || object.spec != oldObject.spec"), policy.name);
    }
  });

  it("a rule that every tenant's binding shares never reads parameters, and a per-tenant rule always does", () => {
    for (const rule of POLICY_RULES) {
      const reads = rule.validations.some((v) => v.expression.includes("params."));
      assert.equal(reads, rule.perTenant, rule.name);
    }
  });
});
