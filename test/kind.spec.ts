import { strict as assert } from "assert";
import * as fs from "fs";
import { CommandResult, KindProvider, kindConfigYaml, kubeconfigServer } from "../components/kind";

const KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Zm9v
    server: https://127.0.0.1:41234
  name: kind-fleet-staging
contexts:
- context: {cluster: kind-fleet-staging, user: kind-fleet-staging}
  name: kind-fleet-staging
current-context: kind-fleet-staging
kind: Config
`;

interface Call {
  readonly argv: string[];
  /** Contents of the file passed with --config, read while the command ran. */
  readonly configFile?: string;
}

/**
 * A fake `kind`/`docker`: answers from a table keyed by argv prefix, records every call, and
 * reads the --config file while it exists (the provider deletes it afterwards).
 */
function fakeRunner(answers: Record<string, Partial<CommandResult>>, clusters: string[] = []) {
  const calls: Call[] = [];
  const runner = async (command: string, args: readonly string[]): Promise<CommandResult> => {
    const argv = [command, ...args];
    const at = argv.indexOf("--config");
    calls.push({ argv, ...(at >= 0 ? { configFile: fs.readFileSync(argv[at + 1], "utf8") } : {}) });
    const key = Object.keys(answers)
      .filter((k) => argv.join(" ").startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    if (key !== undefined) return { code: 0, stdout: "", stderr: "", ...answers[key] };
    if (argv.join(" ") === "kind get clusters") return { code: 0, stdout: clusters.join("\n"), stderr: "" };
    if (argv.join(" ").startsWith("kind get kubeconfig")) return { code: 0, stdout: KUBECONFIG, stderr: "" };
    return { code: 0, stdout: "", stderr: "" };
  };
  return { runner, calls };
}

describe("kind provider: create", () => {
  it("checks its tools, writes the kind config, creates and waits, then reads the kubeconfig", async () => {
    const { runner, calls } = fakeRunner({});
    const provider = new KindProvider(runner);
    const result = await provider.create({ name: "fleet-staging", nodeImage: "kindest/node:v1.35.0", workers: 2 });

    assert.deepEqual(
      calls.map((c) => c.argv.map((a) => (a.endsWith("kind-config.yaml") ? "<config>" : a))),
      [
        ["kind", "version"],
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        ["kind", "get", "clusters"],
        ["kind", "create", "cluster", "--name", "fleet-staging", "--config", "<config>", "--wait", "5m"],
        ["kind", "get", "kubeconfig", "--name", "fleet-staging"],
      ],
    );
    assert.equal(
      calls[3].configFile,
      [
        "kind: Cluster",
        "apiVersion: kind.x-k8s.io/v1alpha4",
        "name: fleet-staging",
        "nodes:",
        "  - role: control-plane",
        "    image: kindest/node:v1.35.0",
        "  - role: worker",
        "    image: kindest/node:v1.35.0",
        "  - role: worker",
        "    image: kindest/node:v1.35.0",
        "",
      ].join("\n"),
    );
    assert.equal(result.id, "fleet-staging");
    assert.deepEqual(result.outs, {
      name: "fleet-staging",
      nodeImage: "kindest/node:v1.35.0",
      workers: 2,
      kubeconfig: KUBECONFIG,
      endpoint: "https://127.0.0.1:41234",
      context: "kind-fleet-staging",
    });
  });

  it("leaves no temporary config file behind", async () => {
    const { runner, calls } = fakeRunner({});
    await new KindProvider(runner).create({ name: "c", workers: 0 });
    const create = calls.find((c) => c.argv.includes("create"));
    assert.ok(create);
    assert.equal(fs.existsSync(create.argv[create.argv.indexOf("--config") + 1]), false);
  });

  it("omits the image when none is pinned, so kind uses its own default", () => {
    assert.equal(
      kindConfigYaml({ name: "c", workers: 0 }),
      "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: c\nnodes:\n  - role: control-plane\n",
    );
  });

  it("fails naming the fix when kind is not on PATH", async () => {
    const { runner, calls } = fakeRunner({ "kind version": { code: 127, notFound: true } });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), /kind is not on PATH: install it .*fleet:cluster.type: kubeconfig/);
    assert.ok(!calls.some((c) => c.argv.includes("create")), "nothing is created");
  });

  it("fails naming the fix when docker is not on PATH", async () => {
    const { runner } = fakeRunner({ "docker info": { code: 127, notFound: true } });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), /docker is not on PATH: .*install Docker/);
  });

  it("fails naming the fix when Docker is not running", async () => {
    const { runner, calls } = fakeRunner({
      "docker info": { code: 1, stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." },
    });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), /Docker is not running \(docker info: Cannot connect.*\): start Docker/);
    assert.ok(!calls.some((c) => c.argv.includes("create")));
  });

  it("refuses a same-named cluster that is not in state, and says how to delete or adopt it", async () => {
    const { runner, calls } = fakeRunner({}, ["other", "fleet-staging"]);
    await assert.rejects(
      new KindProvider(runner).create({ name: "fleet-staging", workers: 0 }),
      (e: Error) =>
        /already exists but is not in this stack's state/.test(e.message) &&
        e.message.includes("kind delete cluster --name fleet-staging") &&
        e.message.includes("fleet:cluster.type: kubeconfig") &&
        e.message.includes("kind get kubeconfig --name fleet-staging | pulumi config set --secret fleet:kubeconfig"),
    );
    assert.ok(!calls.some((c) => c.argv.includes("create")));
  });

  it("reports kind's own error when creation fails", async () => {
    const { runner } = fakeRunner({ "kind create cluster": { code: 1, stderr: "ERROR: failed to create cluster: node(s) already exist" } });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), /kind create cluster --name c failed \(exit 1\): ERROR: failed to create cluster/);
  });
});

describe("kind provider: diff", () => {
  const provider = new KindProvider(fakeRunner({}).runner);
  const olds = { name: "c", nodeImage: "kindest/node:v1.35.0", workers: 1, kubeconfig: KUBECONFIG, endpoint: "https://x", context: "kind-c" };

  it("reports no change when nothing changed, so a second pulumi up is empty", async () => {
    assert.deepEqual(await provider.diff("c", olds, { name: "c", nodeImage: "kindest/node:v1.35.0", workers: 1 }), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  for (const [field, news] of [
    ["name", { name: "d", nodeImage: "kindest/node:v1.35.0", workers: 1 }],
    ["nodeImage", { name: "c", nodeImage: "kindest/node:v1.36.0", workers: 1 }],
    ["nodeImage", { name: "c", workers: 1 }],
    ["workers", { name: "c", nodeImage: "kindest/node:v1.35.0", workers: 3 }],
  ] as const) {
    it(`replaces the cluster (delete first) when ${field} changes`, async () => {
      assert.deepEqual(await provider.diff("c", olds, news), { changes: true, replaces: [field], deleteBeforeReplace: true });
    });
  }
});

describe("kind provider: read and delete", () => {
  it("read notices a cluster deleted out of band (empty id drops it from state)", async () => {
    const { runner } = fakeRunner({}, ["another"]);
    const result = await new KindProvider(runner).read("fleet-staging", {
      name: "fleet-staging", workers: 0, kubeconfig: "", endpoint: "", context: "kind-fleet-staging",
    });
    assert.equal(result.id, "");
  });

  it("read refreshes the kubeconfig of a cluster that still exists", async () => {
    const { runner } = fakeRunner({}, ["fleet-staging"]);
    const result = await new KindProvider(runner).read("fleet-staging", {
      name: "fleet-staging", workers: 1, kubeconfig: "stale", endpoint: "", context: "kind-fleet-staging",
    });
    assert.equal(result.id, "fleet-staging");
    assert.equal(result.props?.kubeconfig, KUBECONFIG);
    assert.equal(result.props?.endpoint, "https://127.0.0.1:41234");
    assert.equal(result.props?.workers, 1);
  });

  it("delete runs kind delete cluster with the cluster's name", async () => {
    const { runner, calls } = fakeRunner({});
    await new KindProvider(runner).delete("fleet-staging");
    assert.deepEqual(calls.map((c) => c.argv), [["kind", "delete", "cluster", "--name", "fleet-staging"]]);
  });

  it("delete of a cluster that is already gone succeeds (kind exits 0)", async () => {
    const { runner } = fakeRunner({ "kind delete cluster": { code: 0, stderr: "Deleting cluster \"gone\" ...\n" } });
    await new KindProvider(runner).delete("gone");
  });

  it("delete fails naming the fix when kind is missing, and on kind's own errors", async () => {
    await assert.rejects(new KindProvider(fakeRunner({ "kind delete": { code: 127, notFound: true } }).runner).delete("c"), /kind is not on PATH.*pulumi state delete/);
    await assert.rejects(new KindProvider(fakeRunner({ "kind delete": { code: 1, stderr: "permission denied" } }).runner).delete("c"), /permission denied/);
  });
});

describe("kubeconfigServer", () => {
  it("finds the API server URL, quoted or not", () => {
    assert.equal(kubeconfigServer(KUBECONFIG), "https://127.0.0.1:41234");
    assert.equal(kubeconfigServer('clusters:\n- cluster:\n    server: "https://10.0.0.1:6443"\n'), "https://10.0.0.1:6443");
    assert.equal(kubeconfigServer("kind: Config\n"), "");
  });
});
