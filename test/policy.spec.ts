/**
 * The tenant admission policy pack (components/manifests/policy.ts): rendered from stack config,
 * valid against the upstream schemas, and each rule's CEL evaluated on fixtures that must be
 * admitted or refused, with a maintained CEL evaluator (@marcbachmann/cel-js). The real API
 * server enforces the same fixtures on the real tier (test/real/fleet.spec.ts, 7).
 */
import { strict as assert } from "assert";
import { admissionPolicy, POLICY_RULES } from "../components/manifests/policy";
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
  it("one policy per shared rule, and per tenant one policy per per-tenant rule with its values compiled in, bound to its own namespaces, denying", async () => {
    const result = ok(await runProgram({ stack: "staging", config: config([{ name: "shop", sources: ["https://charts.example.com"] }, { name: "payments", namespaces: ["payments", "payments-jobs"], repository: { readWrite: true }, serviceTypes: ["LoadBalancer"] }]) }));
    const perTenant = POLICY_RULES.filter((r) => r.perTenant).map((r) => r.name);
    assert.deepEqual(perTenant.sort(), ["fleet-tenant-buckets", "fleet-tenant-decryption", "fleet-tenant-image-automation", "fleet-tenant-services", "fleet-tenant-sources"]);
    const expected = POLICY_RULES.flatMap((r) => (r.perTenant ? ["shop", "payments"].map((t) => `${r.name}-${t}`) : [r.name]));
    assert.deepEqual(result.resources.filter((r) => r.type === VAP).map((r) => r.name).sort(), expected.sort());
    assert.deepEqual(result.resources.filter((r) => r.type === BINDING).map((r) => r.name).sort(), expected.sort(), "each policy has one binding");
    for (const b of result.resources.filter((r) => r.type === BINDING)) {
      assert.deepEqual(b.inputs.spec.validationActions, ["Deny"], b.name);
      assert.equal(b.inputs.spec.policyName, b.name, `${b.name} binds its own policy`);
    }
    // No parameter object anywhere: kube-apiserver stops watching a built-in paramKind for good
    // once no binding names it (kubernetes/kubernetes#130887), and then denies, or checks stale values.
    for (const r of result.resources.filter((r) => [VAP, BINDING].includes(r.type))) {
      assert.equal(r.inputs.spec.paramKind, undefined, r.name);
      assert.equal(r.inputs.spec.paramRef, undefined, r.name);
    }
    assert.deepEqual(result.resources.filter((r) => r.type === CONFIG_MAP && r.name.includes("tenant-policy")).map((r) => r.name), []);
    const variables = (name: string) => Object.fromEntries(one(result, VAP, name).inputs.spec.variables.map((v: any) => [v.name, v.expression]));
    assert.deepEqual(variables("fleet-tenant-sources-shop"), { sources: '["ssh://git@github.com/acme-org/shop-deploy.git", "https://charts.example.com"]' });
    assert.deepEqual(variables("fleet-tenant-buckets-shop"), { buckets: "false" });
    assert.deepEqual(variables("fleet-tenant-image-automation-shop"), { imageAutomation: "false" });
    assert.deepEqual(variables("fleet-tenant-image-automation-payments"), { imageAutomation: "true" }, "a writable key allows image automation");
    assert.deepEqual(variables("fleet-tenant-services-shop"), { serviceTypes: "[]" });
    assert.deepEqual(variables("fleet-tenant-services-payments"), { serviceTypes: '["LoadBalancer"]' }, "serviceTypes: [LoadBalancer]");
    const sources = one(result, BINDING, "fleet-tenant-sources-payments").inputs.spec;
    assert.deepEqual(sources.matchResources.namespaceSelector, { matchLabels: { "toolkit.fluxcd.io/tenant": "payments" } });
    assert.deepEqual(sources.matchResources.objectSelector, {}, "every object in those namespaces");
    // The tenant's GitRepository waits for its policies and bindings, so on removal it goes first.
    const git = one(result, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "shop/shop");
    for (const r of result.resources.filter((r) => r.name === "fleet-tenant-sources-shop")) assert.ok(git.dependencies.includes(r.urn), `${r.type} ${r.name}`);
  });

  it("the shared rules are the tenant's GitRepository's to wait for, once: a tenant's binding waits for its own policy only", async () => {
    // A dependency on every shared policy and binding from each of a tenant's five bindings was
    // 70 URNs in the state per tenant, rewritten at every checkpoint (docs/architecture.md, "Real-engine speed").
    const result = ok(await runProgram({ stack: "staging", config: config([{ name: "shop" }, { name: "payments" }]) }));
    const shared = result.resources.filter((r) => (r.type === VAP || r.type === BINDING) && POLICY_RULES.some((rule) => !rule.perTenant && r.name === rule.name));
    assert.ok(shared.length >= 2, "the pack has shared rules");
    for (const tenant of ["shop", "payments"]) {
      const git = one(result, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", `${tenant}/${tenant}`);
      for (const r of shared) assert.ok(git.dependencies.includes(r.urn), `${tenant}'s GitRepository waits for ${r.type} ${r.name}`);
      for (const rule of POLICY_RULES.filter((r) => r.perTenant)) {
        const name = `${rule.name}-${tenant}`;
        assert.deepEqual(one(result, BINDING, name).dependencies, [one(result, VAP, name).urn], `${name}: its policy, nothing else`);
        assert.ok(git.dependencies.includes(one(result, BINDING, name).urn), `${tenant}'s GitRepository waits for ${name}`);
      }
    }
  });

  it("a tenant's values become CEL literals that read back as they were, quotes and backslashes included", async () => {
    const cel = await esmImport("@marcbachmann/cel-js");
    const odd = ["https://x.example/a\"b", "https://x.example/c\\d'e", "oci://r.example/ü"];
    const rule = POLICY_RULES.find((r) => r.name === "fleet-tenant-sources")!;
    const policy = admissionPolicy(rule, { tenant: "t", sources: odd, buckets: false, imageAutomation: false, serviceTypes: [], decryptionSecrets: [] });
    assert.deepEqual(cel.evaluate(policy.spec.variables![0].expression, {}), odd);
  });

  it("every policy object validates against the upstream Kubernetes schema", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging") }));
    const objects = result.resources.filter((r) => [VAP, BINDING].includes(r.type));
    assert.ok(objects.length >= POLICY_RULES.length + 2);
    for (const o of objects) await validateObject(o.inputs);
  });

  it("fleet:flux.admissionPolicies: false leaves the pack out", async () => {
    const result = ok(await runProgram({ stack: "staging", config: config([{ name: "shop" }], { admissionPolicies: false }) }));
    assert.deepEqual(result.resources.filter((r) => [VAP, BINDING].includes(r.type)).map((r) => r.name), []);
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
    // A per-tenant policy's variables are CEL literals: evaluated as the API server does, then the
    // fixture's own values for the tenant where it has them.
    const declared = Object.fromEntries((policy.inputs.spec.variables ?? []).map((v: any) => [v.name, cel.evaluate(v.expression, {})]));
    const overrides = Object.fromEntries(Object.entries(fixture.params ?? {}).filter(([k]) => k in declared));
    const request = {
      operation: fixture.operation ?? "CREATE",
      namespace: fixture.object.metadata.namespace,
      userInfo: { username: fixture.as ?? serviceAccountUser(tenant.namespace, "flux") },
    };
    const context = { object: fixture.object, oldObject: fixture.oldObject ?? null, request, variables: { ...declared, ...overrides } };
    const applies = (policy.inputs.spec.matchConditions ?? []).every((c: any) => cel.evaluate(c.expression, context) === true);
    return !applies || policy.inputs.spec.validations.every((v: any) => cel.evaluate(v.expression, context) === true);
  }

  /** The policy object of a rule for the tenant shop: `<rule>-shop` for a per-tenant rule. */
  const policyOf = (rule: string) => (POLICY_RULES.find((r) => r.name === rule)!.perTenant ? `${rule}-shop` : rule);

  for (const fixture of policyFixtures(tenant)) {
    it(`${fixture.admitted ? "admits" : "refuses"} ${fixture.title}`, async () => {
      // A fixture the API server would reject anyway proves nothing.
      if (fixture.newerThanModels) assert.match(fixture.newerThanModels, /\.go:\d+/, "names the upstream definition");
      else await validateObject(fixture.object);
      const policy = one(run, VAP, policyOf(fixture.policy));
      assert.ok(matches(policy, fixture), `${fixture.policy} does not match ${fixture.object.kind}`);
      // Every policy the API server would run on it, not only the one the fixture is about: an
      // admitted object passes all of them, a refused one is refused by its policy alone (so the
      // API server's answer names it: real tier 3b).
      const refusing = run.resources.filter((r) => r.type === VAP && matches(r, fixture) && !admits(r, fixture)).map((r) => r.name);
      assert.deepEqual(refusing, fixture.admitted ? [] : [policyOf(fixture.policy)]);
    });
  }

  it("every rule has a fixture it admits and one it refuses", () => {
    for (const rule of POLICY_RULES) {
      const verdicts = new Set(policyFixtures(tenant).filter((f) => f.policy === rule.name).map((f) => f.admitted));
      assert.deepEqual([...verdicts].sort(), [false, true], rule.name);
    }
  });

  it("the evaluator handles the CEL the policies use: has() on absent fields, `in` over a list and its literals, startsWith, string equality", () => {
    assert.equal(cel.evaluate("!has(o.spec.kubeConfig)", { o: { spec: {} } }), true);
    assert.equal(cel.evaluate("has(o.spec.kubeConfig)", { o: { spec: { kubeConfig: {} } } }), true);
    assert.equal(cel.evaluate("(k == 'B' ? 'x' : 'u') in variables.sources", { k: "G", variables: { sources: ["x", "u"] } }), true);
    assert.equal(cel.evaluate("'u' in variables.sources", { variables: { sources: ["x"] } }), false);
    assert.deepEqual(cel.evaluate('["a\\"b", "c"]', {}), ['a"b', "c"]);
    // all() over a list, `in` over a list and a map, a conditional, string concatenation.
    assert.equal(cel.evaluate("l.all(d, !has(d.namespace) || d.namespace == 'a')", { l: [{ name: "x" }, { name: "y", namespace: "a" }] }), true);
    assert.equal(cel.evaluate("l.all(d, !has(d.namespace) || d.namespace == 'a')", { l: [{ name: "y", namespace: "b" }] }), false);
    assert.equal(cel.evaluate("t in ['x', 'y']", { t: "y" }), true);
    assert.equal(cel.evaluate("t in variables.serviceTypes", { t: "LoadBalancer", variables: { serviceTypes: [] } }), false);
    assert.equal(cel.evaluate("variables.buckets", { variables: { buckets: cel.evaluate("false", {}) } }), false);
    assert.equal(cel.evaluate("k == 'B' ? 'https://' + e : u", { k: "B", e: "h", u: "v" }), "https://h");
  });

  it("the status rule applies to every write (a status write leaves spec alone); every other rule to creates and spec changes only, so finalizers always come off", () => {
    for (const policy of run.resources.filter((r) => r.type === VAP)) {
      const conditions = (policy.inputs.spec.matchConditions ?? []).map((c: any) => c.expression);
      if (policy.name === "fleet-tenant-flux-controllers-only") assert.deepEqual(conditions, [], policy.name);
      else assert.ok(conditions.includes("request.operation == 'CREATE' || object.spec != oldObject.spec"), policy.name);
    }
  });

  it("a rule that every tenant's binding shares never reads a tenant's values, and a per-tenant rule always does", () => {
    for (const rule of POLICY_RULES) {
      const reads = rule.validations.some((v) => v.expression.includes("variables."));
      assert.equal(reads, rule.perTenant, rule.name);
    }
  });
});
