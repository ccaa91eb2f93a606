/**
 * The fleet sync as a GitHub App (fleet:repository.githubApp): the flux-system pull Secret holds
 * the App's credentials in Flux's format, the FluxInstance syncs over HTTPS with
 * `provider: github`, the fleet repository gets no deploy key for this cluster, and every tenant
 * keeps a deploy key of its own. What source-controller does with the Secret is shown on the
 * rig's real tier (test/real/fleet.spec.ts, 5e); here, what the program registers.
 */
import { strict as assert } from "assert";
import { generateKeyPairSync } from "crypto";
import { githubAppUrl } from "../components/manifests";
import { isSecretPath, ok, one, Registered, RunResult, runProgram, stackConfig } from "./harness";
import { esmImport, fluxInstanceCrd, fluxInstanceSchema, validateObject } from "./schemas";

const INSTANCE = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance";
const SECRET = "kubernetes:core/v1:Secret";
const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
const APP_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const APP = { appId: 123456, installationId: 7890123 };
/** The repositories on a GitHub Enterprise Server: its Git host and host key. */
const GHES = { sshHost: "github.example.com", knownHosts: "github.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" };

/** The staging example with the App set (and `extra` merged into fleet:repository). */
function withApp(stack = "staging", extra: Record<string, unknown> = {}, key: string | null = APP_KEY) {
  const base = stackConfig(stack);
  return {
    ...base,
    "fleet:repository": { ...(base["fleet:repository"] as object), githubApp: { ...APP }, ...extra },
    ...(key !== null ? { "fleet:githubAppPrivateKey": key } : {}),
  };
}

async function run(config: Record<string, unknown>, stack = "staging"): Promise<RunResult> {
  return runProgram({ stack, config, secretKeys: ["fleet:githubAppPrivateKey"] });
}

function pullSecret(result: RunResult): Registered {
  const found = result.resources.filter((r) => r.type === SECRET && r.inputs.metadata.namespace === "flux-system" && r.inputs.metadata.name === "flux-system");
  assert.equal(found.length, 1, "exactly one flux-system/flux-system Secret");
  return found[0];
}

describe("GitHub App for the fleet sync: what is registered", () => {
  let result: RunResult;
  before(async () => {
    result = ok(await run(withApp()));
  });

  it("the pull Secret holds the App's ID, installation ID and private key, under Flux's keys, and nothing of SSH", () => {
    const secret = pullSecret(result);
    assert.deepEqual(secret.inputs.stringData, { githubAppID: "123456", githubAppInstallationID: "7890123", githubAppPrivateKey: APP_KEY });
    assert.equal(secret.inputs.type, "Opaque");
  });

  it("the private key stays a Pulumi secret in the Secret's inputs", () => {
    assert.ok(isSecretPath(pullSecret(result).rawInputs, ["stringData", "githubAppPrivateKey"]));
  });

  it("the FluxInstance syncs the fleet repository over HTTPS as the App (provider: github), with that Secret", async () => {
    const instance = one(result, INSTANCE).inputs;
    assert.deepEqual(instance.spec.sync, {
      kind: "GitRepository",
      url: "https://github.com/acme-org/flux-fleet.git",
      ref: "refs/heads/main",
      path: "clusters/staging",
      pullSecret: "flux-system",
      provider: "github",
    });
    if (fluxInstanceCrd()) await validateObject(instance);
  });

  it("the FluxInstance passes the CRD's own CEL rules on sync (provider github needs kind GitRepository)", async function () {
    if (!fluxInstanceCrd()) this.skip();
    const sync = fluxInstanceSchema().properties.spec.properties.sync;
    const rules: { rule: string; message: string }[] = sync["x-kubernetes-validations"];
    assert.ok(rules.some((r) => r.rule.includes("'github'")), "the CRD has a rule on provider github");
    const cel = await esmImport("@marcbachmann/cel-js");
    const check = (self: object) => rules.filter((r) => cel.evaluate(r.rule, { self }) !== true).map((r) => r.message);
    assert.deepEqual(check(one(result, INSTANCE).inputs.spec.sync), []);
    // The rule bites: the same sync with another source kind is refused.
    assert.deepEqual(check({ ...one(result, INSTANCE).inputs.spec.sync, kind: "OCIRepository" }), ["sync.provider 'github' is only supported for GitRepository"]);
  });

  it("no deploy key or key pair is made on the fleet repository; every tenant keeps its own, in its own Secret", () => {
    const keys = result.resources.filter((r) => r.type === DEPLOY_KEY).map((r) => r.inputs.repository).sort();
    const tenantRepositories = ["analytics-gitops", "payments-deploy", "shop-deploy"];
    assert.deepEqual(keys, tenantRepositories, "one key per tenant repository, none on flux-fleet");
    assert.deepEqual(result.resources.filter((r) => r.type === PRIVATE_KEY && r.name.startsWith("fleet")).map((r) => r.name), []);
    for (const tenant of ["shop", "payments"]) {
      const secret = one(result, SECRET, `${tenant}/${tenant}-git`);
      assert.match(secret.inputs.stringData.identity, /BEGIN OPENSSH PRIVATE KEY/);
      assert.equal(secret.inputs.stringData.githubAppPrivateKey, undefined, "no App credentials in a tenant namespace");
    }
  });

  it("the App's key goes nowhere but the flux-system pull Secret, and into no stack output", () => {
    const line = APP_KEY.split("\n")[1];
    assert.deepEqual(result.resources.filter((r) => JSON.stringify(r.inputs).includes(line)).map((r) => r.urn), [pullSecret(result).urn]);
    assert.ok(!JSON.stringify(result.outputs).includes(line), "no output carries the key");
  });

  it("the FluxInstance still waits for the pull Secret and the scaffold", () => {
    const instance = one(result, INSTANCE);
    assert.ok(instance.dependencies.includes(pullSecret(result).urn));
    const lastFile = result.resources.filter((r) => r.name.startsWith("fleet/")).at(-1)!;
    assert.ok(instance.dependencies.includes(lastFile.urn), "the first sync waits for the scaffold");
  });

  it("outputs name the App instead of a fleet key fingerprint, and the write budget counts no fleet key", () => {
    const fleet = result.outputs?.fleetRepository as Record<string, unknown>;
    assert.equal(fleet.deployKeyFingerprint, undefined);
    assert.deepEqual(fleet.githubApp, APP);
    const writes = result.outputs?.githubContentWrites as Record<string, number>;
    assert.equal(writes["fleet/key-gen1"], 0);
    assert.equal(writes["tenant:shop/key-gen1"], 1, "a tenant's key is still counted");
  });
});

describe("GitHub App for the fleet sync: GitHub Enterprise and lookup stacks", () => {
  it("with apiUrl, the Secret carries githubAppBaseURL and the sync clones from that host", async () => {
    const result = ok(await run(withApp("staging", { ...GHES, githubApp: { ...APP, apiUrl: "https://github.example.com/api/v3" } })));
    assert.equal(pullSecret(result).inputs.stringData.githubAppBaseURL, "https://github.example.com/api/v3");
    assert.equal(one(result, INSTANCE).inputs.spec.sync.url, "https://github.example.com/acme-org/flux-fleet.git");
  });

  it("the clone URL follows the API URL as fluxcd/pkg's githubapp client reads it", () => {
    assert.equal(githubAppUrl("o", "r"), "https://github.com/o/r.git");
    assert.equal(githubAppUrl("o", "r", "https://ghe.example.com/api/v3/"), "https://ghe.example.com/o/r.git");
    assert.equal(githubAppUrl("o", "r", "https://api.acme.ghe.com"), "https://acme.ghe.com/o/r.git", "GitHub Enterprise Cloud with data residency");
    assert.equal(githubAppUrl("o", "r", "http://127.0.0.1:28080"), "http://127.0.0.1:28080/o/r.git", "a loopback test server");
    assert.equal(githubAppUrl("o", "r", "https://api.corp.example/api/v3"), "https://api.corp.example/o/r.git", "a GitHub Enterprise Server whose host is named api.*");
    assert.equal(githubAppUrl("o", "r", "https://git.corp.example/gh/api/v3"), "https://git.corp.example/gh/o/r.git", "under a path prefix");
  });

  it("a lookup stack (production) with the App adds no deploy key to the fleet repository, only its tenants'", async () => {
    const result = ok(await run(withApp("production"), "production"));
    assert.deepEqual(result.resources.filter((r) => r.type === DEPLOY_KEY && r.inputs.repository === "flux-fleet"), []);
    assert.equal(one(result, INSTANCE).inputs.spec.sync.provider, "github");
  });

  it("moving a stack from its deploy key to the App drops the fleet key pair and deploy key, and changes nothing of a tenant's", async () => {
    const before = ok(await runProgram({ stack: "staging", config: stackConfig("staging") }));
    const after = ok(await run(withApp()));
    const urns = (r: RunResult) => new Set(r.resources.map((x) => x.urn));
    const gone = [...urns(before)].filter((u) => !urns(after).has(u)).map((u) => u.split("::").at(-1)).sort();
    assert.deepEqual(gone, ["fleet-deploy-key", "fleet-deploy-key"]);
    const added = [...urns(after)].filter((u) => !urns(before).has(u));
    assert.deepEqual(added, []);
    const tenantSecrets = (r: RunResult) => r.resources.filter((x) => x.type === SECRET && x.inputs.metadata.namespace !== "flux-system").map((x) => [x.urn, Object.keys(x.inputs.stringData).sort()]);
    assert.deepEqual(tenantSecrets(after), tenantSecrets(before));
  });
});

describe("GitHub App for the fleet sync: bad config registers nothing", () => {
  async function problems(config: Record<string, unknown>): Promise<string> {
    const result = await run(config);
    assert.ok(result.error, "the run fails");
    assert.deepEqual(result.resources, [], "nothing is registered");
    return result.error.message;
  }

  it("githubApp without its private key names the secret key and how to set it", async () => {
    assert.match(await problems(withApp("staging", {}, null)), /fleet:githubAppPrivateKey: is required with fleet:repository\.githubApp; .*pulumi config set --secret fleet:githubAppPrivateKey < /);
  });

  it("a private key without githubApp is an error, not silently ignored", async () => {
    const config = { ...stackConfig("staging"), "fleet:githubAppPrivateKey": APP_KEY };
    assert.match(await problems(config), /fleet:githubAppPrivateKey: is set but fleet:repository\.githubApp is not/);
  });

  it("a key that is not an RSA private key (an SSH key, a public key) is refused without echoing it", async () => {
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const rsaPublic = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "pkcs1", format: "pem" }).toString();
    for (const key of [ed, rsaPublic, "not a key"]) {
      const message = await problems(withApp("staging", {}, key));
      assert.match(message, /fleet:githubAppPrivateKey: must be the App's RSA private key/);
      assert.ok(!message.includes(key.split("\n")[1] ?? key), "the value is not in the message");
    }
  });

  it("readWrite with the App is an error: there is no fleet deploy key to make writable", async () => {
    assert.match(await problems(withApp("staging", { readWrite: true })), /fleet:repository\.readWrite: the fleet sync authenticates as fleet:repository\.githubApp/);
  });

  it("an App on another GitHub than the repositories' (sshHost) is refused, naming both hosts", async () => {
    const ghes = GHES;
    assert.match(await problems(withApp("staging", ghes)), /fleet:repository\.githubApp\.apiUrl: the App's GitHub is github\.com, but fleet:repository\.sshHost is github\.example\.com; set apiUrl to that host's API \(https:\/\/github\.example\.com\/api\/v3/);
    assert.match(await problems(withApp("staging", { githubApp: { ...APP, apiUrl: "https://other.example.com/api/v3" } })), /the App's GitHub is other\.example\.com, but fleet:repository\.sshHost is github\.com; make them the same host/);
    ok(await run(withApp("staging", { ...ghes, githubApp: { ...APP, apiUrl: "https://github.example.com/api/v3" } })));
    ok(await run(withApp("staging", { sshHost: "127.0.0.1:28022", knownHosts: ghes.knownHosts.replace("github.example.com", "[127.0.0.1]:28022"), githubApp: { ...APP, apiUrl: "http://127.0.0.1:28080" } })));
  });

  it("an apiUrl without a scheme is a config error naming the key, not a crash", async () => {
    assert.match(await problems(withApp("staging", { githubApp: { ...APP, apiUrl: "github.example.com/api/v3" } })), /fleet:repository\.githubApp\.apiUrl: must be an http\(s\) URL/);
  });

  it("a private key pasted under another key is not repeated in the error", async () => {
    const message = await problems(withApp("staging", { githubApp: { ...APP, appId: APP_KEY } }));
    assert.match(message, /fleet:repository\.githubApp\.appId: expected a number, got a string of \d+ characters/);
    assert.ok(!message.includes(APP_KEY.split("\n")[1]));
  });

  it("plain http off loopback, IDs that are not whole numbers, and unknown keys are refused by key", async () => {
    const message = await problems(withApp("staging", { githubApp: { appId: "abc", installationId: 1.5, apiUrl: "http://github.example.com/api/v3", appID: 1 } }));
    assert.match(message, /fleet:repository\.githubApp\.appId: expected a number, got string "abc"/);
    assert.match(message, /fleet:repository\.githubApp\.installationId: expected a whole number/);
    assert.match(message, /fleet:repository\.githubApp\.apiUrl: must be https/);
    assert.match(message, /fleet:repository\.githubApp\.appID: unknown key; did you mean 'appId'\? Allowed keys: appId, installationId, apiUrl/);
  });
});
