/**
 * The tenant admission policy pack (components/manifests/policy.ts): rendered from stack config,
 * valid against the upstream schemas, and each rule's CEL evaluated on fixtures that must be
 * admitted or refused, with a maintained CEL evaluator (@marcbachmann/cel-js). The real API
 * server enforces the same fixtures on the real tier (test/real/fleet.spec.ts, 7).
 */
import { strict as assert } from "assert";
import { admissionPolicy, POLICY_RULES, ruleVariables, tenantPolicyAnnotations } from "../components/manifests/policy";
import { one, Registered, RunResult, runProgram, stackConfig } from "./harness";
import { Cel, PolicyFixture, policyAdmits, policyFixtures, serviceAccountUser } from "./policy-fixtures";
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

const NAMESPACE = "kubernetes:core/v1:Namespace";
const GIT_REPOSITORY = "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository";
/** The rules that read a tenant's values: a value each (TenantPolicyParams). */
const VALUE_RULES = { "fleet-tenant-sources": ["sources"], "fleet-tenant-buckets": ["buckets"], "fleet-tenant-services": ["serviceTypes"], "fleet-tenant-image-automation": ["imageAutomation"], "fleet-tenant-decryption": ["decryptionSecrets"] };

describe("Admission policy pack: rendered from stack config", () => {
  it("one policy and one binding per rule, bound to every tenant namespace, denying; each tenant's values on each of its namespaces", async () => {
    const result = ok(await runProgram({ stack: "staging", config: config([{ name: "shop", sources: ["https://charts.example.com"] }, { name: "payments", namespaces: ["payments", "payments-jobs"], repository: { readWrite: true }, serviceTypes: ["LoadBalancer"] }]) }));
    const rules = POLICY_RULES.map((r) => r.name).sort();
    assert.deepEqual(result.resources.filter((r) => r.type === VAP).map((r) => r.name).sort(), rules);
    assert.deepEqual(result.resources.filter((r) => r.type === BINDING).map((r) => r.name).sort(), rules, "each policy has one binding");
    for (const b of result.resources.filter((r) => r.type === BINDING)) {
      assert.deepEqual(b.inputs.spec.validationActions, ["Deny"], b.name);
      assert.equal(b.inputs.spec.policyName, b.name, `${b.name} binds its own policy`);
      assert.deepEqual(b.inputs.spec.matchResources.namespaceSelector, { matchExpressions: [{ key: "toolkit.fluxcd.io/tenant", operator: "Exists" }] }, b.name);
      assert.deepEqual(b.inputs.spec.matchResources.objectSelector, {}, "every object in those namespaces");
    }
    // No parameter object anywhere: kube-apiserver stops watching a built-in paramKind for good
    // once no binding names it (kubernetes/kubernetes#130887), and then denies, or checks stale values.
    for (const r of result.resources.filter((r) => [VAP, BINDING].includes(r.type))) {
      assert.equal(r.inputs.spec.paramKind, undefined, r.name);
      assert.equal(r.inputs.spec.paramRef, undefined, r.name);
    }
    assert.deepEqual(result.resources.filter((r) => r.type === CONFIG_MAP && r.name.includes("tenant-policy")).map((r) => r.name), []);
    const annotations = (ns: string) => one(result, NAMESPACE, ns).inputs.metadata.annotations;
    assert.deepEqual(annotations("shop"), {
      "admission.fleet/sources": "ssh://git@github.com/acme-org/shop-deploy.git https://charts.example.com",
      "admission.fleet/buckets": "false",
      "admission.fleet/imageAutomation": "false",
      "admission.fleet/serviceTypes": "",
      "admission.fleet/decryptionSecrets": "shop-sops",
    });
    const payments = {
      "admission.fleet/sources": "ssh://git@github.com/acme-org/payments-deploy.git",
      "admission.fleet/buckets": "false",
      "admission.fleet/imageAutomation": "true",
      "admission.fleet/serviceTypes": "LoadBalancer",
      "admission.fleet/decryptionSecrets": "payments-sops",
    };
    assert.deepEqual(annotations("payments"), payments, "a writable key allows image automation; serviceTypes: [LoadBalancer]");
    assert.deepEqual(annotations("payments-jobs"), payments, "every namespace of the tenant carries its values");
    // The tenant's GitRepository waits for every binding, each of which waits for its policy, so it
    // is made once every rule is in force and on removal it goes first. Not for the policies as
    // well: 12 more URNs in the state of each tenant, ordering nothing more.
    const git = one(result, GIT_REPOSITORY, "shop/shop");
    for (const r of result.resources.filter((r) => r.type === BINDING)) assert.ok(git.dependencies.includes(r.urn), `${r.type} ${r.name}`);
    assert.deepEqual(git.dependencies.filter((urn: string) => urn.includes(":ValidatingAdmissionPolicy::")), [], "no policy directly");
  });

  it("the pack does not grow with the fleet: no tenant has a policy or binding of its own, and a binding waits for its own policy only", async () => {
    // Five policies and five bindings per tenant were 47% of a 40-tenant stack's state, rewritten at
    // every step of an `up` (docs/architecture.md, "Real-engine speed").
    const two = ok(await runProgram({ stack: "staging", config: config([{ name: "shop" }, { name: "payments" }]) }));
    const three = ok(await runProgram({ stack: "staging", config: config([{ name: "shop" }, { name: "payments" }, { name: "search", namespaces: ["search", "search-jobs"] }]) }));
    const pack = (r: RunResult) => r.resources.filter((x) => [VAP, BINDING].includes(x.type)).map((x) => x.urn).sort();
    assert.deepEqual(pack(three), pack(two));
    for (const r of three.resources.filter((x) => [VAP, BINDING].includes(x.type))) {
      assert.ok(r.parent?.includes("fleet:policy:AdmissionPolicies"), `${r.name} is the pack's, not a tenant's`);
      if (r.type === BINDING) assert.deepEqual(r.dependencies, [one(three, VAP, r.name).urn], `${r.name}: its policy, nothing else`);
    }
  });

  it("a tenant's values read back from its namespace as they were, quotes, backslashes and an empty list included; a missing one allows nothing", async () => {
    const cel = await esmImport("@marcbachmann/cel-js");
    const values = { sources: ["https://x.example/a\"b", "https://x.example/c\\d'e", "oci://r.example/ü"], buckets: true, imageAutomation: false, serviceTypes: [], decryptionSecrets: ["t-sops"] };
    const read = (annotations: Record<string, string> | undefined) => {
      const namespaceObject = { metadata: { name: "t", ...(annotations ? { annotations } : {}) } };
      return Object.fromEntries(POLICY_RULES.flatMap((rule) => admissionPolicy(rule).spec.variables ?? []).map((v) => [v.name, cel.evaluate(v.expression, { namespaceObject })]));
    };
    assert.deepEqual(read(tenantPolicyAnnotations(values)), values);
    const nothing = { sources: [], buckets: false, imageAutomation: false, serviceTypes: [], decryptionSecrets: [] };
    assert.deepEqual(read(undefined), nothing, "a tenant-labelled namespace without annotations");
    assert.deepEqual(read({ "other.example/x": "y" }), nothing, "annotations, none of them the tenant's values");
    assert.throws(() => tenantPolicyAnnotations({ sources: ["https://a https://b"] }), /sources: "https:\/\/a https:\/\/b" is empty or has whitespace/);
    assert.throws(() => tenantPolicyAnnotations({ serviceTypes: [""] }), /serviceTypes: "" is empty/);
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
  let cel: Cel;
  before(async () => {
    run = ok(await runProgram({ stack: "staging", config: config([{ name: "shop", sources: [tenant.allowedUrl, `oci://${tenant.allowedImage}`] }]) }));
    cel = await esmImport("@marcbachmann/cel-js");
  });

  /**
   * Whether `policy` admits `fixture`, as the API server decides: a policy whose matchConditions
   * do not all hold does not apply; one that applies admits when every validation holds.
   */
  function admits(policy: Registered, fixture: PolicyFixture, namespace = namespaceWith(fixture)): boolean {
    const request = {
      operation: fixture.operation ?? "CREATE",
      namespace: fixture.object.metadata.namespace,
      userInfo: { username: fixture.as ?? serviceAccountUser(tenant.namespace, "flux") },
    };
    // The policy's variables read the tenant's values from the namespace, as the API server does.
    return policyAdmits(cel, policy.inputs.spec, { object: fixture.object, oldObject: fixture.oldObject ?? null, request, namespaceObject: namespace });
  }

  /** The tenant's namespace as the program declares it, with the fixture's own values for the tenant where it has them. */
  function namespaceWith(fixture: PolicyFixture) {
    const declared = one(run, NAMESPACE, tenant.namespace).inputs;
    return { ...declared, metadata: { ...declared.metadata, annotations: { ...declared.metadata.annotations, ...tenantPolicyAnnotations(fixture.params ?? {}) } } };
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

  it("in a namespace with the tenant label and none of the annotations, a rule that reads a tenant's values allows nothing they would", () => {
    // A namespace the platform labels for a tenant some other way (the fleet repository, kubectl):
    // the policies bind it, and it holds no values.
    const bare = { apiVersion: "v1", kind: "Namespace", metadata: { name: tenant.namespace, labels: { "toolkit.fluxcd.io/tenant": "shop" } } };
    const admitted = policyFixtures(tenant).filter((f) => f.admitted && f.policy in VALUE_RULES && !f.operation);
    assert.ok(admitted.length >= 8, "fixtures that the tenant's values admit");
    for (const f of admitted) {
      const policy = one(run, VAP, f.policy);
      // ClusterIP Services and Kustomizations without a decryption Secret need no value.
      const needsValue = !(f.policy === "fleet-tenant-services" && !f.object.spec.type) && !(f.policy === "fleet-tenant-decryption" && !f.object.spec.decryption?.secretRef);
      assert.equal(admits(policy, f, bare), !needsValue, f.title);
    }
  });

  it("every rule has a fixture it admits and one it refuses", () => {
    for (const rule of POLICY_RULES) {
      const verdicts = new Set(policyFixtures(tenant).filter((f) => f.policy === rule.name).map((f) => f.admitted));
      assert.deepEqual([...verdicts].sort(), [false, true], rule.name);
    }
  });

  it("the evaluator handles the CEL the policies use: has() on absent fields, `in` over a list and a map, split, filter, startsWith, string equality", () => {
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
    // split and filter (cel-go's strings extension, which Kubernetes' CEL includes), `in` over a map's keys.
    assert.deepEqual(cel.evaluate("s.split(' ').filter(v, v != '')", { s: "a b" }), ["a", "b"]);
    assert.deepEqual(cel.evaluate("s.split(' ').filter(v, v != '')", { s: "" }), []);
    assert.deepEqual(cel.evaluate("s.split(' ')", { s: "" }), [""], "what the filter is for");
    assert.equal(cel.evaluate("'a.b/c' in m", { m: { "a.b/c": "x" } }), true);
    assert.equal(cel.evaluate("has(n.metadata.annotations)", { n: { metadata: {} } }), false);
  });

  it("the status rule applies to every write (a status write leaves spec alone); every other rule to creates and spec changes only, so finalizers always come off", () => {
    for (const policy of run.resources.filter((r) => r.type === VAP)) {
      const conditions = (policy.inputs.spec.matchConditions ?? []).map((c: any) => c.expression);
      if (policy.name === "fleet-tenant-flux-controllers-only") assert.deepEqual(conditions, [], policy.name);
      else assert.ok(conditions.includes("request.operation == 'CREATE' || object.spec != oldObject.spec"), policy.name);
    }
  });

  it("the rules that read a tenant's values are these five, a value each", () => {
    const reading = Object.fromEntries(POLICY_RULES.filter((rule) => ruleVariables(rule).length).map((rule) => [rule.name, ruleVariables(rule)]));
    assert.deepEqual(reading, VALUE_RULES);
  });
});
