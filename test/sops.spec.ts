/**
 * Tenant secrets (`fleet:tenants[].secrets`, components/sops.ts): each tenant's SOPS age key per
 * environment, where it goes and where it never goes. The keys are checked with age's own
 * implementation (typage); the real tier decrypts with sops and kustomize-controller
 * (test/real/fleet.spec.ts, 4h).
 */
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import { parse } from "yaml";
import { countWrites, filesAfter, generatedFiles } from "../scripts/lib/github-model";
import { presentable } from "../scripts/render";
import { ageKeyOf, SopsKeys } from "../components/sops";
import { outputPromise } from "../components/perf";
import { esmImport, validateObject } from "./schemas";
import { isSecretOutput, isSecretPath, mapWireLeaves, ok, one, Registered, RunResult, runProgram } from "./harness";
import { policyAdmits } from "./policy-fixtures";

/** An Output's value, as the engine would resolve it. */
const valueOf = outputPromise;

const SECRET = "kubernetes:core/v1:Secret";
const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
const FILE = "pulumi-nodejs:dynamic/fleet:ScaffoldFile";
const VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const SEED = Buffer.alloc(32, 7).toString("base64");
const OTHER_SEED = Buffer.alloc(32, 8).toString("base64");

/** typage, the age project's TypeScript implementation (ESM, so imported at run time). */
const age = () => import("age-encryption");

function config(tenants: unknown[], extra: Record<string, unknown> = {}) {
  return {
    "github:owner": "acme-org",
    "fleet:repository": { create: true, templateEnvironments: ["staging", "production"] },
    "fleet:tenants": tenants,
    "fleet:sopsSeed": SEED,
    ...extra,
  };
}
const run = (tenants: unknown[], opts: { stack?: string; extra?: Record<string, unknown>; secretKeys?: string[] } = {}) =>
  runProgram({ stack: opts.stack ?? "staging", config: config(tenants, opts.extra), secretKeys: opts.secretKeys ?? ["fleet:sopsSeed"] });

describe("Tenant secrets: the age keys", () => {
  it("a key pair is what age makes of its 32 bytes: typage derives the same recipient and decrypts what is encrypted to it", async () => {
    const { Decrypter, Encrypter, identityToRecipient } = await age();
    for (let i = 0; i < 5; i++) {
      const key = ageKeyOf(randomBytes(32));
      assert.match(key.identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
      assert.match(key.recipient, /^age1[0-9a-z]{58}$/);
      assert.equal(await identityToRecipient(key.identity), key.recipient);
      const e = new Encrypter();
      e.addRecipient(key.recipient);
      const d = new Decrypter();
      d.addIdentity(key.identity);
      assert.equal(await d.decrypt(await e.encrypt(`secret ${i}`), "text"), `secret ${i}`);
    }
  });

  it("one key per tenant, environment and generation, the same from every stack of the environment; another seed is another key", async () => {
    const eu = new SopsKeys(SEED, "production");
    const us = new SopsKeys(SEED, "production");
    assert.equal(eu.key("shop", 1).recipient, us.key("shop", 1).recipient, "two clusters of one environment decrypt the same files");
    assert.equal(await valueOf(eu.key("shop", 1).identity), await valueOf(us.key("shop", 1).identity));
    const all = new Set([
      eu.key("shop", 1).recipient, eu.key("shop", 2).recipient, eu.key("payments", 1).recipient,
      new SopsKeys(SEED, "staging").key("shop", 1).recipient, new SopsKeys(OTHER_SEED, "production").key("shop", 1).recipient,
    ]);
    assert.equal(all.size, 5, "tenant, generation, environment and seed each change the key");
  });

  it("the derivation is pinned: the same seed gives the keys tenants already encrypted to (a change would strand every file)", () => {
    // Computed once from this derivation (HKDF-SHA256, info "fleet sops age identity v1\0<env>\0<tenant>\0<gen>").
    assert.equal(new SopsKeys(SEED, "staging").key("shop", 1).recipient, PINNED_RECIPIENT);
  });

  it("the identity is handed on only as a Pulumi secret", async () => {
    const identity = new SopsKeys(SEED, "staging").key("shop", 1).identity;
    assert.equal(await isSecretOutput(identity), true);
  });

  it("a seed shorter than 32 bytes, or not base64, is refused", () => {
    assert.throws(() => new SopsKeys(Buffer.alloc(16).toString("base64"), "staging"), /32 random bytes/);
    assert.throws(() => new SopsKeys("not base64!", "staging"), /32 random bytes/);
  });
});

describe("Tenant secrets: config", () => {
  it("secrets: sops is one generation, [1]; the object form keeps its generations", async () => {
    const result = ok(await run([{ name: "shop", secrets: "sops" }, { name: "payments", secrets: { provider: "sops", generations: [1, 2] } }]));
    const entries = (tenant: string) => Object.keys(one(result, SECRET, `${tenant}/${tenant}-sops`).inputs.stringData).sort();
    assert.deepEqual(entries("shop"), ["gen1.agekey"]);
    assert.deepEqual(entries("payments"), ["gen1.agekey", "gen2.agekey"]);
  });

  it("a tenant with secrets and no fleet:sopsSeed fails before anything is registered, naming both keys and the command", async () => {
    const result = await runProgram({ stack: "staging", config: { ...config([{ name: "shop" }, { name: "payments", secrets: "sops" }]), "fleet:sopsSeed": undefined } });
    assert.match(String(result.error?.message), /fleet:tenants\[1\]\.secrets: needs the environment's seed, the secret fleet:sopsSeed; set it: openssl rand -base64 32 \| pulumi config set --secret fleet:sopsSeed, with the same value in every stack of environment staging/);
    assert.equal(result.resources.length, 0);
  });

  it("a seed set in plain text is refused (Pulumi.<stack>.yaml would publish every key), and a bad seed is not echoed", async () => {
    const plain = await run([{ name: "shop", secrets: "sops" }], { secretKeys: [] });
    assert.match(String(plain.error?.message), /fleet:sopsSeed: is set in plain text/);
    assert.equal(plain.resources.length, 0);
    const bad = "c2hvcnQtYW5kLXNlY3JldA==";
    const short = await run([{ name: "shop", secrets: "sops" }], { extra: { "fleet:sopsSeed": bad } });
    assert.match(String(short.error?.message), /fleet:sopsSeed: must be at least 32 random bytes, base64-encoded/);
    assert.doesNotMatch(String(short.error?.message), new RegExp(bad.slice(0, 12)));
  });

  it("generations must be increasing and not empty; another provider is refused", async () => {
    const result = await run([
      { name: "a", secrets: { provider: "sops", generations: [2, 1] } },
      { name: "b", secrets: { provider: "sops", generations: [] } },
      { name: "c", secrets: { provider: "vault" } },
    ]);
    const message = String(result.error?.message);
    assert.match(message, /fleet:tenants\[0\]\.secrets.*increasing/);
    assert.match(message, /fleet:tenants\[1\]\.secrets.*at least one generation/);
    assert.match(message, /fleet:tenants\[2\]\.secrets: must be sops, or \{ provider: sops, generations: \[\.\.\.\] \}/);
  });
});

describe("Tenant secrets: what a tenant with secrets gets", () => {
  let result: RunResult;
  const keys = new SopsKeys(SEED, "staging");
  before(async () => {
    result = ok(await run([{ name: "shop", secrets: "sops" }, { name: "payments", namespaces: ["payments", "payments-jobs"], secrets: "sops" }, { name: "plain" }]));
  });

  it("its key Secret in its first namespace, each identity a secret input, and its Kustomization decrypts with it and waits for it", async () => {
    const secret = one(result, SECRET, "payments/payments-sops");
    assert.equal(secret.inputs.metadata.namespace, "payments");
    assert.equal(secret.inputs.stringData["gen1.agekey"], await valueOf(keys.key("payments", 1).identity));
    assert.ok(isSecretPath(secret.rawInputs, ["stringData", "gen1.agekey"]), "the identity is a secret input");
    assert.equal(result.resources.filter((r) => r.type === SECRET && r.name.endsWith("-sops")).length, 2, "payments-jobs gets none, nor does plain");
    const ks = one(result, KUSTOMIZATION, "payments/payments");
    assert.deepEqual(ks.inputs.spec.decryption, { provider: "sops", secretRef: { name: "payments-sops" } });
    assert.ok(ks.dependencies.includes(secret.urn), "the Kustomization is made after its key, and removed before it");
    assert.equal(one(result, KUSTOMIZATION, "plain/plain").inputs.spec.decryption, undefined);
  });

  it("its flux/<env>/.sops.yaml names the environment's recipient, committed after flux/<env>/kustomization.yaml (only written into an empty directory)", () => {
    const file = one(result, FILE, "shop-repository/flux/staging/.sops.yaml");
    assert.equal(file.inputs.path, "flux/staging/.sops.yaml");
    const rules = parse(file.inputs.content).creation_rules;
    assert.deepEqual(rules, [{ encrypted_regex: "^(data|stringData)$", age: keys.key("shop", 1).recipient }]);
    const env = one(result, FILE, "shop-repository/flux/staging/kustomization.yaml");
    assert.ok(file.dependencies.includes(env.urn));
    assert.equal(result.resources.some((r) => r.type === FILE && r.name === "plain-repository/flux/staging/.sops.yaml"), false);
  });

  it("the stack outputs each tenant's recipient, public, and never an identity", async () => {
    const tenants = result.outputs?.tenants as Record<string, { sopsRecipient?: string }>;
    assert.equal(tenants.shop.sopsRecipient, keys.key("shop", 1).recipient);
    assert.equal(tenants.plain.sopsRecipient, undefined);
    assert.doesNotMatch(JSON.stringify(result.outputs), /AGE-SECRET-KEY/);
  });

  it("no identity is in any input outside a secret, in any resource", () => {
    const leaks: string[] = [];
    for (const r of result.resources) {
      mapWireLeaves(r.rawInputs, (v, inSecret) => {
        if (!inSecret && typeof v === "string" && v.includes("AGE-SECRET-KEY")) leaks.push(`${r.type}::${r.name}`);
        return v;
      });
    }
    assert.deepEqual(leaks, []);
    assert.ok(result.resources.some((r) => JSON.stringify(r.inputs).includes("AGE-SECRET-KEY")), "the identities are there, as secrets");
  });

  it("nothing the program logs or prints holds an identity or the seed, and npm run render redacts the Secret's entries", async () => {
    const printed: string[] = [];
    const writes = [process.stdout, process.stderr].map((stream) => {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => (printed.push(String(chunk)), (write as any)(chunk, ...rest))) as typeof stream.write;
      return () => (stream.write = write);
    });
    let again: RunResult;
    try {
      again = ok(await run([{ name: "shop", secrets: "sops" }]));
    } finally {
      writes.forEach((restore) => restore());
    }
    const said = [...printed, ...again.warnings].join("\n");
    assert.doesNotMatch(said, /AGE-SECRET-KEY/);
    assert.ok(!said.includes(SEED), "the seed");
    const rendered = JSON.stringify(presentable(one(again, SECRET, "shop/shop-sops").rawInputs));
    assert.doesNotMatch(rendered, /AGE-SECRET-KEY/);
    assert.match(rendered, /"stringData":\{"gen1\.agekey":"\[secret\]"\}/);
  });

  it("every Kubernetes object it makes validates against the upstream schemas (the Secret, the Kustomization with decryption)", async () => {
    for (const name of ["shop/shop-sops", "payments/payments-sops"]) await validateObject(one(result, SECRET, name).inputs);
    await validateObject(one(result, KUSTOMIZATION, "shop/shop").inputs);
  });

  it("its admission policy lets its Kustomizations decrypt with <tenant>-sops only, a name fixed with or without secrets (so turning them on never races the policy)", async () => {
    const annotation = (ns: string) => one(result, NAMESPACE, ns).inputs.metadata.annotations["admission.fleet/decryptionSecrets"];
    assert.equal(annotation("shop"), "shop-sops");
    assert.equal(annotation("plain"), "plain-sops");
    // The policy's CEL, as the API server evaluates it on the tenant's namespace (the shared fixtures cover the rest: test/policy.spec.ts).
    const cel = await esmImport("@marcbachmann/cel-js");
    const spec = one(result, VAP, "fleet-tenant-decryption").inputs.spec;
    const admits = (ns: string, decryption?: object) =>
      policyAdmits(cel, spec, { object: { spec: { ...(decryption ? { decryption } : {}) } }, oldObject: null, request: { operation: "CREATE", namespace: ns }, namespaceObject: one(result, NAMESPACE, ns).inputs });
    const key = (name: string) => ({ provider: "sops", secretRef: { name } });
    assert.deepEqual([admits("shop", key("shop-sops")), admits("shop", key("payments-sops")), admits("shop", key("shop-git"))], [true, false, false]);
    assert.deepEqual([admits("plain", key("plain-sops")), admits("plain", key("shop-sops")), admits("plain"), admits("plain", { provider: "sops" })], [true, false, true, true]);
  });
});

describe("Tenant secrets: rotation, environments, and the write budget", () => {
  const keys = new SopsKeys(SEED, "staging");
  const secretOf = (r: RunResult) => one(r, SECRET, "shop/shop-sops");

  it("rotation [1] → [1, 2] → [2]: one Secret trusts both, then only the new (the real tier shows it updated in place, 4h); the output moves to the new recipient", async () => {
    const runs = [];
    for (const generations of [[1], [1, 2], [2]]) runs.push(ok(await run([{ name: "shop", secrets: { provider: "sops", generations } }])));
    assert.deepEqual(runs.map((r) => Object.keys(secretOf(r).inputs.stringData)), [["gen1.agekey"], ["gen1.agekey", "gen2.agekey"], ["gen2.agekey"]]);
    assert.equal(secretOf(runs[1]).inputs.stringData["gen1.agekey"], secretOf(runs[0]).inputs.stringData["gen1.agekey"], "the old key is kept while both are trusted");
    const recipients = runs.map((r) => (r.outputs?.tenants as any).shop.sopsRecipient);
    assert.deepEqual(recipients, [keys.key("shop", 1).recipient, keys.key("shop", 2).recipient, keys.key("shop", 2).recipient]);
  });

  it("a renamed tenant keeps its key (derived from its identity, the former name); scaffold: false writes no .sops.yaml but keeps the key and the decryption", async () => {
    const renamed = ok(await run([{ name: "shop-new", renamedFrom: "shop", secrets: "sops" }]));
    assert.equal((renamed.outputs?.tenants as any)["shop-new"].sopsRecipient, keys.key("shop", 1).recipient);
    assert.equal(secretOf(renamed).inputs.stringData["gen1.agekey"], await valueOf(keys.key("shop", 1).identity));
    const unscaffolded = ok(await run([{ name: "shop", scaffold: false, secrets: "sops" }]));
    assert.deepEqual(unscaffolded.resources.filter((r) => r.type === FILE && r.inputs.repository === "shop-deploy").map((r) => r.inputs.path), []);
    assert.ok(secretOf(unscaffolded));
    assert.equal(one(unscaffolded, KUSTOMIZATION, "shop/shop").inputs.spec.decryption.secretRef.name, "shop-sops");
  });

  it("turning secrets on for existing tenants is new work the preview counts against GitHub's hourly limit: each .sops.yaml is a part of its own", async () => {
    const limited = (secrets: boolean) => config(["a", "b", "c"].map((name) => ({ name, ...(secrets ? { secrets: "sops" } : {}) })), { "fleet:repository": { create: true, contentWritesPerHour: 2 } });
    const before = ok(await runProgram({ stack: "staging", config: limited(false), secretKeys: ["fleet:sopsSeed"] }));
    const after = ok(await runProgram({ stack: "staging", preview: true, config: limited(true), secretKeys: ["fleet:sopsSeed"], previousOutputs: { githubContentWrites: before.outputs?.githubContentWrites } }));
    assert.equal(after.warnings.length, 1, after.warnings.join("\n"));
    assert.match(after.warnings[0], /up to 3 GitHub content-generating requests \(3 new: tenant:a\/sops, tenant:b\/sops, tenant:c\/sops\)/);
    const exported = after.outputs?.githubContentWrites as Record<string, number>;
    assert.equal(Object.values(exported).reduce((x, y) => x + y, 0), countWrites(after.resources, generatedFiles(after.resources)).content, "the parts add up to what the GitHub model counts");
  });

  it("the clusters of one environment get the same key and .sops.yaml; another environment its own, at its own path", async () => {
    const lookup = (stack: string, environment: string) =>
      runProgram({
        stack,
        config: { ...config([{ name: "shop", secrets: "sops" }]), "fleet:repository": { create: false }, "fleet:environment": environment },
        secretKeys: ["fleet:sopsSeed"],
      });
    const [eu, us, staging] = [ok(await lookup("production-eu", "production")), ok(await lookup("production-us", "production")), ok(await run([{ name: "shop", secrets: "sops" }]))];
    const identity = (r: RunResult) => secretOf(r).inputs.stringData["gen1.agekey"];
    const sopsFile = (r: RunResult) => r.resources.find((x) => x.type === FILE && x.inputs.path.endsWith(".sops.yaml"))!.inputs;
    assert.equal(identity(eu), identity(us));
    assert.equal(sopsFile(eu).content, sopsFile(us).content);
    assert.equal(sopsFile(eu).path, "flux/production/.sops.yaml");
    assert.notEqual(identity(eu), identity(staging));
  });

  it("a new tenant with secrets costs one more content write per environment (its .sops.yaml): 3 in the owning stack, 2 in a lookup stack; without, still 2 and 1", async () => {
    const base = [{ name: "shop" }];
    const added = (secrets: boolean) => [...base, { name: "search", ...(secrets ? { secrets: "sops" } : {}) }];
    const owning = (tenants: unknown[]) => run(tenants);
    const lookup = (tenants: unknown[]) => runProgram({ stack: "production", config: { ...config(tenants), "fleet:repository": { create: false } }, secretKeys: ["fleet:sopsSeed"] });
    const writes = (before: RunResult, after: RunResult, present: ReadonlySet<string>) => {
      const old = new Set(before.resources.map((r) => r.urn));
      return countWrites(after.resources.filter((r: Registered) => !old.has(r.urn)), present).content;
    };
    for (const secrets of [false, true]) {
      const after = ok(await owning(added(secrets)));
      assert.equal(writes(ok(await owning(base)), after, generatedFiles(after.resources)), secrets ? 3 : 2, `owning stack, secrets ${secrets}`);
      assert.equal(writes(ok(await lookup(base)), ok(await lookup(added(secrets))), filesAfter(after.resources)), secrets ? 2 : 1, `lookup stack, secrets ${secrets}`);
    }
  });
});

/** shop's generation-1 recipient in staging from SEED (32 bytes of 7). */
const PINNED_RECIPIENT = "age1lpvekydugja9e0ghcf8p003j8wj0j9sr5ahfnt0vekatasq3pq3sv2274j";
