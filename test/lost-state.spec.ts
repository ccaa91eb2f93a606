/**
 * npm run adopt (scripts/adopt.ts): a lost state rebuilt from the live cluster and GitHub. The key
 * pairs written back from their Secrets (scripts/lib/key-state.ts) against what the TLS provider
 * writes, the plan made of a preview on the empty state (scripts/lib/adopt-plan.ts), and the
 * program importing what that plan lists (components/imports.ts). The whole flow runs on the rig
 * (real tier 6d).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { importKey } from "../components/imports";
import { AdoptLookups, importFile, keysInState, planAdoption, plannedKeys, PreviewStep, TLS_KEY, withKeys } from "../scripts/lib/adopt-plan";
import { keyState } from "../scripts/lib/key-state";
import { ok, runProgram, stackConfig } from "./harness";

/**
 * Keys as the rig's TLS double renders them (rig/go/providers/internal/tlsdouble, encode), which
 * follows terraform-provider-tls's encodings: generated once by a Go test of that package. Test keys only.
 */
const GO_KEYS = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "tls-private-keys.json"), "utf8")) as Record<string, Record<string, string>>;

const STACK = "urn:pulumi:staging::fleet::pulumi:pulumi:Stack::fleet-staging";
const tenantUrn = (type: string, name: string) => `urn:pulumi:staging::fleet::fleet:tenant:Tenant$${type}::${name}`;
const TENANT = "urn:pulumi:staging::fleet::fleet:tenant:Tenant::search";
const KEY_URN = tenantUrn(TLS_KEY, "search-deploy-key");
const TLS_PROVIDER = "urn:pulumi:staging::fleet::pulumi:providers:tls::default_5_6_1";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const step = (urn: string, type: string, extra: Record<string, unknown> = {}): PreviewStep => ({ op: "create", urn, newState: { urn, type, custom: true, ...extra } as any });

/** A preview of an empty state, as `pulumi preview --json` writes it for one tenant (default providers are not shown). */
const steps: PreviewStep[] = [
  { op: "create", urn: STACK, newState: { urn: STACK, type: "pulumi:pulumi:Stack", custom: false } as any },
  { op: "create", urn: TENANT, newState: { urn: TENANT, type: "fleet:tenant:Tenant", custom: false, parent: STACK } as any },
  step(KEY_URN, TLS_KEY, { parent: TENANT, provider: `${TLS_PROVIDER}::${UNKNOWN}`, inputs: { algorithm: "ED25519", ecdsaCurve: "P224", rsaBits: 2048 } }),
  step(tenantUrn("github:index/repositoryDeployKey:RepositoryDeployKey", "search-deploy-key"), "github:index/repositoryDeployKey:RepositoryDeployKey", {
    parent: TENANT,
    inputs: { repository: "search-deploy", title: "flux-staging", key: UNKNOWN, readOnly: true },
    propertyDependencies: { key: [KEY_URN] },
  }),
  step("urn:pulumi:staging::fleet::fleet:tenant:Tenant$kubernetes:core/v1:Secret::search-git", "kubernetes:core/v1:Secret", {
    parent: TENANT,
    inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "search-git", namespace: "search" }, stringData: "[secret]" },
    propertyDependencies: { stringData: [KEY_URN], metadata: [] },
  }),
  step("urn:pulumi:staging::fleet::fleet:tenant:Tenant$kubernetes:core/v1:Namespace::search", "kubernetes:core/v1:Namespace", { parent: TENANT, inputs: { apiVersion: "v1", kind: "Namespace", metadata: { name: "search" } } }),
  step("urn:pulumi:staging::fleet::fleet:tenant:Tenant$kubernetes:core/v1:Namespace::search-jobs", "kubernetes:core/v1:Namespace", { parent: TENANT, inputs: { apiVersion: "v1", kind: "Namespace", metadata: { name: "search-jobs" } } }),
  step("urn:pulumi:staging::fleet::fleet:tenant:Tenant$kubernetes:core/v1:ConfigMap::unreachable", "kubernetes:core/v1:ConfigMap", { parent: TENANT, inputs: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "elsewhere" } } }),
  step("urn:pulumi:staging::fleet::fleet:flux:Flux$kubernetes:helm.sh/v3:Release::flux-operator", "kubernetes:helm.sh/v3:Release", { inputs: { name: "flux-operator", namespace: "flux-system" } }),
  step("urn:pulumi:staging::fleet::fleet:flux:Flux$kubernetes:core/v1:NamespacePatch::flux-namespace", "kubernetes:core/v1:NamespacePatch", { inputs: { metadata: { name: "flux-system" } } }),
  step(tenantUrn("github:index/branchDefault:BranchDefault", "search-branch"), "github:index/branchDefault:BranchDefault", { parent: TENANT, inputs: { repository: "search-deploy", branch: "main" } }),
  step(tenantUrn("pulumi-nodejs:dynamic/fleet:ScaffoldFile", "search-file-README.md"), "pulumi-nodejs:dynamic/fleet:ScaffoldFile", { parent: TENANT, inputs: {} }),
];

const ed25519 = GO_KEYS["ed25519"];

/** The cluster has search and its Secret, the operator's release, not search-jobs; the ConfigMap's kind cannot be listed. GitHub has search-deploy's key. */
const lookups: AdoptLookups = {
  kubeExists(o) {
    if ("helmRelease" in o) return o.helmRelease === "flux-operator" && o.namespace === "flux-system";
    if (o.kind === "ConfigMap") return "kubectl get ConfigMap.v1. exited 1: Unable to connect to the server";
    return (o.kind === "Namespace" && o.name === "search") || (o.kind === "Secret" && o.name === "search-git" && o.namespace === "search");
  },
  async deployKey(owner, repository, publicKey) {
    assert.equal(owner, "acme-org");
    return repository === "search-deploy" && publicKey === ed25519.publicKeyOpenssh ? { id: 7, title: "flux-staging" } : undefined;
  },
  repositoryExists: async (_owner, name) => name === "search-deploy",
};

describe("npm run adopt: a lost state rebuilt from the live cluster and GitHub", () => {
  it("a key pair's state, rebuilt from its OpenSSH private key, is byte for byte what the rig's TLS double wrote (terraform-provider-tls's encodings): every output and the ID, for each algorithm the program makes", () => {
    for (const [name, want] of Object.entries(GO_KEYS)) {
      const got = keyState(want.privateKeyOpenssh);
      for (const [k, v] of Object.entries(got.outputs)) assert.equal(v, want[k], `${name}: ${k}`);
      assert.equal(got.id, want.id, `${name}: id`);
      assert.deepEqual(got.algorithm, name === "ed25519" ? { algorithm: "ED25519" } : { algorithm: "ECDSA", ecdsaCurve: name === "ecdsa-p256" ? "P256" : "P384" });
    }
    assert.throws(() => keyState("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"), /not an unencrypted OpenSSH private key/);
  });

  it("finds, for each key pair the program makes, the deploy-key Secret whose inputs come from it", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging") }));
    const asSteps: PreviewStep[] = result.resources.map((r) => ({ op: "create", urn: r.urn, newState: { urn: r.urn, type: r.type, custom: r.custom, inputs: r.inputs, propertyDependencies: { all: r.dependencies } } as any }));
    const keys = plannedKeys(asSteps);
    assert.ok(keys.length >= 3, `the fleet's key and each tenant's: ${keys.map((k) => k.urn).join(", ")}`);
    for (const k of keys) assert.ok(k.secret, `${k.urn} has a Secret`);
    const secrets = keys.map((k) => `${k.secret!.namespace}/${k.secret!.name}`);
    assert.equal(new Set(secrets).size, secrets.length, `one Secret per key pair: ${secrets.join(", ")}`);
    assert.ok(secrets.includes("flux-system/flux-system"), secrets.join(", "));
  });

  it("plans from the preview: restored keys' deploy keys found by public key, live objects imported by namespace/name, the missing created, and it asks where the cluster cannot be asked or a kind cluster would be needed", async () => {
    const key = keyState(ed25519.privateKeyOpenssh);
    assert.deepEqual(plannedKeys(steps), [{ urn: KEY_URN, secret: { namespace: "search", name: "search-git" } }]);
    const plan = await planAdoption(steps, "acme-org", lookups, new Map([[KEY_URN, key.outputs.publicKeyOpenssh]]));
    const by = (name: string) => plan.find((a) => a.urn.endsWith(`::${name}`))!;
    assert.equal(by("search-deploy-key").id, undefined, "the key pair itself is restored, not imported");
    assert.equal(plan.filter((a) => a.id === "search-deploy:7").length, 1, "the deploy key, found by the restored public key");
    assert.equal(by("search-git").id, "search/search-git");
    assert.equal(by("search").id, "search");
    assert.equal(by("search-jobs").id, undefined);
    assert.match(by("search-jobs").why, /creates it/);
    assert.equal(by("flux-operator").id, "flux-system/flux-operator");
    assert.equal(by("flux-namespace").id, undefined, "a patch is applied again");
    assert.equal(by("search-branch").id, "search-deploy");
    assert.equal(by("search-file-README.md").id, undefined);
    assert.equal(by("unreachable").ask, true);
    assert.match(by("unreachable").why, /could not be asked/);
    assert.equal(plan.filter((a) => a.ask).length, 1);

    // Without the restored key the deploy key's public key is unknown: the next up adds a new one.
    const fresh = await planAdoption(steps, "acme-org", lookups);
    assert.equal(fresh.find((a) => a.type === "github:index/repositoryDeployKey:RepositoryDeployKey")!.id, undefined);

    const kind = await planAdoption([step("urn:pulumi:staging::fleet::fleet:cluster:Cluster$pulumi-nodejs:dynamic/fleet:KindCluster::staging-kind", "pulumi-nodejs:dynamic/fleet:KindCluster", { inputs: { name: "fleet-staging" } })], "acme-org", lookups);
    assert.equal(kind[0].ask, true);
    assert.match(kind[0].why, /cannot import/);
    await assert.rejects(planAdoption(steps, undefined, lookups), /github:owner/);
  });

  it("the import file names each import by type and name, and refuses two planned resources it could not tell apart", async () => {
    const plan = (await planAdoption(steps, "acme-org", lookups, new Map([[KEY_URN, ed25519.publicKeyOpenssh]]))).filter((a) => !a.ask);
    const file = importFile(plan, steps);
    assert.equal(file.imports[importKey("kubernetes:core/v1:Namespace", "search")], "search");
    assert.equal(file.imports[importKey("github:index/repositoryDeployKey:RepositoryDeployKey", "search-deploy-key")], "search-deploy:7");
    assert.equal(file.imports[importKey("kubernetes:core/v1:Namespace", "search-jobs")], undefined);
    const twice = [...steps, step("urn:pulumi:staging::fleet::fleet:other:Other$kubernetes:core/v1:Namespace::search", "kubernetes:core/v1:Namespace", { inputs: {} })];
    assert.throws(() => importFile(plan, twice), /share the type and name kubernetes:core\/v1:Namespace::search/);
    // One the state holds already counts too: the program would import it under the planned ID.
    const held = [...steps, { ...step("urn:pulumi:staging::fleet::fleet:other:Other$kubernetes:core/v1:Namespace::search", "kubernetes:core/v1:Namespace"), op: "same" }];
    assert.throws(() => importFile(plan, held), /share the type and name kubernetes:core\/v1:Namespace::search/);
  });

  it("finds the Secret of each key pair the state holds already (a plain up after the loss made them), to be checked against it", () => {
    const same = steps.map((x) => (x.urn === KEY_URN ? { ...x, op: "same" } : x));
    const deployment = { resources: [{ urn: KEY_URN, type: TLS_KEY, custom: true, outputs: { publicKeyOpenssh: "ssh-ed25519 AAAAnew\n" } }] };
    assert.deepEqual(keysInState(deployment, same), [{ urn: KEY_URN, publicKey: "ssh-ed25519 AAAAnew\n", secret: { namespace: "search", name: "search-git" } }]);
    assert.deepEqual(plannedKeys(same), [], "not a key to restore: it is in the state");
  });

  it("writes each restored key pair into the state under its component parents and a default provider, private outputs as secrets, parents first; a key of another algorithm than the program makes is refused", () => {
    const key = keyState(ed25519.privateKeyOpenssh);
    const exported = { version: 3, deployment: { manifest: { time: "t" }, secrets_providers: { type: "passphrase" }, resources: [] } };
    // Default providers are not in a preview's steps: the one the key names is taken from its URN.
    const state = withKeys(exported, steps, new Map([[KEY_URN, key]]), () => "11111111-2222-3333-4444-555555555555");
    const resources = state.deployment.resources as any[];
    assert.deepEqual(resources.map((r) => r.urn), [STACK, TENANT, TLS_PROVIDER, KEY_URN]);
    assert.deepEqual([resources[2].type, resources[2].inputs, resources[2].outputs], ["pulumi:providers:tls", { __internal: {}, version: "5.6.1" }, { version: "5.6.1" }]);
    const written = resources[3];
    assert.equal(written.id, ed25519.id);
    // The outputs the provider writes, and only those (the rig's double stores no `id` among them).
    assert.deepEqual(Object.keys(written.outputs).sort(), ["algorithm", "ecdsaCurve", "privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256", "publicKeyOpenssh", "publicKeyPem", "rsaBits"]);
    assert.equal(written.provider, `${TLS_PROVIDER}::11111111-2222-3333-4444-555555555555`);
    assert.equal(written.parent, TENANT);
    assert.deepEqual(written.inputs, { algorithm: "ED25519", ecdsaCurve: "P224", rsaBits: 2048 });
    assert.equal(written.outputs.publicKeyOpenssh, ed25519.publicKeyOpenssh);
    for (const k of ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]) {
      assert.deepEqual(written.outputs[k], { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(ed25519[k]) }, `${k} is a secret`);
    }
    assert.equal((state.deployment as any).secrets_providers.type, "passphrase", "the stack's secrets provider is kept, so the import encrypts them");

    // A state that holds the parents and provider already (an adopt whose up failed) gets the key only.
    const again = withKeys({ deployment: { resources: resources.slice(0, 3) } }, steps, new Map([[KEY_URN, key]]), () => "unused");
    assert.deepEqual((again.deployment.resources as any[]).map((r) => r.urn), [STACK, TENANT, TLS_PROVIDER, KEY_URN]);
    assert.equal((again.deployment.resources as any[])[3].provider, `${TLS_PROVIDER}::11111111-2222-3333-4444-555555555555`);

    const ecdsa = keyState(GO_KEYS["ecdsa-p256"].privateKeyOpenssh);
    assert.throws(() => withKeys(exported, steps, new Map([[KEY_URN, ecdsa]]), () => "x"), /the cluster's key is ECDSA P256, the program makes ED25519: set fleet:repository.keyAlgorithm/);
  });

  it("the program imports what FLEET_ADOPT_FILE lists, and nothing without it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-imports-"));
    const file = path.join(dir, "imports.json");
    fs.writeFileSync(file, JSON.stringify({ imports: { [importKey("kubernetes:core/v1:Namespace", "shop")]: "shop", [importKey("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance")]: "flux-system/flux" } }));
    const before = process.env.FLEET_ADOPT_FILE;
    // As the CLI runs a program: inside the root stack resource, which a stack transformation needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = async () => (await pulumi.runtime.runInPulumiStack(require("../index")))!;
    const run = () => runProgram({ stack: "staging", config: stackConfig("staging"), program });
    try {
      process.env.FLEET_ADOPT_FILE = file;
      const adopted = ok(await run());
      const imported = adopted.resources.filter((r) => r.importId !== "");
      assert.deepEqual(
        imported.filter((r) => r.type.startsWith("kubernetes:")).map((r) => [r.type, r.name, r.importId]).sort(),
        [["kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance", "flux-system/flux"], ["kubernetes:core/v1:Namespace", "shop", "shop"]].sort(),
        "the two listed, and nothing else of the cluster's",
      );
      fs.writeFileSync(file, "{}");
      const bad = await run();
      assert.match(String(bad.error?.message), /FLEET_ADOPT_FILE=.*expected \{"imports"/);
      delete process.env.FLEET_ADOPT_FILE;
      const plain = ok(await run());
      assert.deepEqual(plain.resources.filter((r) => r.importId !== "" && r.type.startsWith("kubernetes:")).map((r) => r.name), []);
    } finally {
      if (before === undefined) delete process.env.FLEET_ADOPT_FILE;
      else process.env.FLEET_ADOPT_FILE = before;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run adopt, the command (fake pulumi and kubectl): what it writes, and when it writes nothing", () => {
  /** One run of scripts/adopt.ts against fakes; every pulumi call is logged, stack import's stdin and the up's import file kept. */
  function adopt(opts: { state?: unknown; configMapReachable?: boolean; args?: string[] }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-adopt-cmd-"));
    const file = (name: string, content: string) => fs.writeFileSync(path.join(dir, name), content);
    const identity = Buffer.from(ed25519.privateKeyOpenssh).toString("base64");
    const preview = { steps: steps.filter((s) => !/(BranchDefault|RepositoryDeployKey|Release|ScaffoldFile|NamespacePatch)/.test(s.newState!.type) && (opts.configMapReachable !== undefined || s.newState!.type !== "kubernetes:core/v1:ConfigMap")) };
    file("preview.json", JSON.stringify(preview));
    file("state.json", JSON.stringify(opts.state ?? { version: 3, deployment: { resources: [] } }));
    file("config.json", JSON.stringify({ "fleet:cluster": { objectValue: { type: "kubeconfig", context: "prod" } }, "fleet:kubeconfig": { value: "apiVersion: v1\nkind: Config\n", secret: true }, "github:owner": { value: "acme-org" } }));
    file("secret.json", JSON.stringify({ metadata: { name: "search-git", namespace: "search" }, data: { identity, "identity.pub": Buffer.from(ed25519.publicKeyOpenssh).toString("base64") } }));
    file(
      "pulumi",
      `#!/bin/sh\necho "$*" >> '${dir}/calls'\ncase "$1 $2" in\n` +
        `"stack select") exit 0 ;;\n"stack export") cat '${dir}/state.json' ;;\n"stack import") cat > '${dir}/imported.json' ;;\n` +
        `"config --json") cat '${dir}/config.json' ;;\n"preview --stack") cat '${dir}/preview.json' ;;\n"up --stack") cat "$FLEET_ADOPT_FILE" > '${dir}/adopt-file.json' ;;\n*) exit 9 ;;\nesac\n`,
    );
    file(
      "kubectl",
      `#!/bin/sh\ncase "$*" in\n*"get Secret.v1. search-git -n search"*|*"get secret search-git -n search"*) cat '${dir}/secret.json' ;;\n` +
        `*"get Namespace.v1. search "*) echo '{"metadata":{"name":"search"}}' ;;\n*"get Namespace.v1. search-jobs "*) ;;\n` +
        `*"get ConfigMap.v1. "*) ${opts.configMapReachable ? "" : "echo 'Unable to connect to the server' >&2; exit 1"} ;;\n*) echo "unexpected: $*" >&2; exit 1 ;;\nesac\n`,
    );
    for (const f of ["pulumi", "kubectl"]) fs.chmodSync(path.join(dir, f), 0o755);
    const r = spawnSync(process.execPath, ["-r", "ts-node/register", "scripts/adopt.ts", "staging", ...(opts.args ?? [])], {
      encoding: "utf8",
      cwd: path.join(__dirname, ".."),
      env: { ...process.env, PULUMI: path.join(dir, "pulumi"), KUBECTL: path.join(dir, "kubectl"), PULUMI_BACKEND_URL: `file://${dir}` },
    });
    const read = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), "utf8") : undefined);
    const result = { ...r, calls: (read("calls") ?? "").trim().split("\n"), imported: read("imported.json"), adoptFile: read("adopt-file.json") };
    fs.rmSync(dir, { recursive: true, force: true });
    return result;
  }

  it("asks, and writes nothing, where the cluster cannot be asked", () => {
    const r = adopt({ configMapReachable: false });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /ask: \S+ConfigMap::unreachable\n\s+the cluster could not be asked/);
    assert.match(r.stderr, /nothing done/);
    assert.equal(r.imported, undefined, "no stack import");
    assert.ok(!r.calls.some((c) => c.startsWith("up ")), r.calls.join("\n"));
  });

  it("--dry-run prints the plan (the key restored from its Secret, the namespace imported) and writes nothing", () => {
    const r = adopt({ configMapReachable: true, args: ["--dry-run"] });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`restore: ${KEY_URN.replace(/[$]/g, "\\$")}\\n\\s+from the cluster's Secret \\(${ed25519.publicKeyFingerprintSha256.replace(/[+/]/g, "\\$&")}\\)`));
    assert.match(r.stdout, /import as search: \S+Namespace::search\n/);
    assert.match(r.stdout, /create: \S+Namespace::search-jobs\n/);
    assert.equal(r.imported, undefined, "no stack import");
    assert.ok(!r.calls.some((c) => c.startsWith("up ") || c.startsWith("stack import")), r.calls.join("\n"));
  });

  it("stops, writing nothing, when the state holds a key pair that is not its Secret's (a plain up after the loss made it)", () => {
    const same = { version: 3, deployment: { resources: [{ urn: KEY_URN, type: TLS_KEY, custom: true, outputs: { publicKeyOpenssh: GO_KEYS["ecdsa-p256"].publicKeyOpenssh } }] } };
    const r = adopt({ configMapReachable: true, state: same });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /the state holds key pairs that are not the ones their Secrets hold.*search-deploy-key \(Secret search\/search-git\).*pulumi state delete/s);
    assert.equal(r.imported, undefined);
  });
});
