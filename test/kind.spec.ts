import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  CommandOptions,
  CommandResult,
  KIND_NODE_IMAGES,
  KindProvider,
  SUPPORTED_KIND,
  execRunner,
  kindConfigYaml,
  kubeconfigServer,
  parseKindVersion,
} from "../components/cluster/kind";

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

const KIND_VERSION = "kind v0.32.0 go1.26.3 linux/amd64\n";

interface Call {
  readonly argv: string[];
  /** The environment the command was given (the runner's third argument). */
  readonly env?: Record<string, string>;
  /** Contents of the file passed with --config, read while the command ran. */
  readonly configFile?: string;
  /** Whether the directory of env.KUBECONFIG existed while the command ran. */
  readonly kubeconfigDirExisted?: boolean;
  /** Whether env.KUBECONFIG itself already existed when the command started (it must be fresh). */
  readonly kubeconfigExisted?: boolean;
}

/**
 * A fake `kind`/`docker`: answers from a table keyed by argv prefix (an answer may be an Error,
 * which the runner throws), records every call with its environment, and reads the --config file
 * and checks the private kubeconfig's directory while they exist (the provider deletes them afterwards).
 */
function fakeRunner(answers: Record<string, Partial<CommandResult> | Error>, clusters: string[] = []) {
  const calls: Call[] = [];
  const runner = async (command: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult> => {
    const argv = [command, ...args];
    const at = argv.indexOf("--config");
    const kubeconfig = options?.env?.KUBECONFIG;
    calls.push({
      argv,
      ...(options?.env ? { env: options.env } : {}),
      ...(at >= 0 ? { configFile: fs.readFileSync(argv[at + 1], "utf8") } : {}),
      ...(kubeconfig !== undefined
        ? { kubeconfigDirExisted: fs.existsSync(path.dirname(kubeconfig)), kubeconfigExisted: fs.existsSync(kubeconfig) }
        : {}),
    });
    const key = Object.keys(answers)
      .filter((k) => argv.join(" ").startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    if (key !== undefined) {
      const answer = answers[key];
      if (answer instanceof Error) throw answer;
      return { code: 0, stdout: "", stderr: "", ...answer };
    }
    if (argv.join(" ") === "kind version") return { code: 0, stdout: KIND_VERSION, stderr: "" };
    if (argv.join(" ") === "kind get clusters") return { code: 0, stdout: clusters.join("\n"), stderr: "" };
    if (argv.join(" ").startsWith("kind get kubeconfig")) return { code: 0, stdout: KUBECONFIG, stderr: "" };
    return { code: 0, stdout: "", stderr: "" };
  };
  return { runner, calls };
}

/** argv with the temporary paths replaced by placeholders, for exact comparison. */
function shownArgv(call: Call): string[] {
  return call.argv.map((a) => (a.endsWith("kind-config.yaml") ? "<config>" : a === call.env?.KUBECONFIG ? "<kubeconfig>" : a));
}

/** A kubeconfig the user might have: the provider must never hand it to kind. */
const USER_KUBECONFIG = path.join(os.homedir(), ".kube", "fleet-test-user-config");
const DEFAULT_KUBECONFIG = path.join(os.homedir(), ".kube", "config");

/**
 * Every `kind` call ran with KUBECONFIG set to a fresh private file under os.tmpdir() (never the
 * user's), create/delete passed the same file with --kubeconfig, and the directory is gone now.
 */
function assertPrivateKubeconfig(calls: Call[]): void {
  const kindCalls = calls.filter((c) => c.argv[0] === "kind");
  assert.ok(kindCalls.length > 0, "kind was called");
  for (const call of kindCalls) {
    const what = call.argv.join(" ");
    const kubeconfig = call.env?.KUBECONFIG;
    assert.equal(typeof kubeconfig, "string", `${what}: env.KUBECONFIG is set`);
    assert.ok(kubeconfig !== undefined);
    assert.ok(path.dirname(kubeconfig).startsWith(path.join(os.tmpdir(), "fleet-kind-")), `${what}: ${kubeconfig} is in a fresh dir under os.tmpdir()`);
    assert.notEqual(kubeconfig, process.env.KUBECONFIG, `${what}: not the user's $KUBECONFIG`);
    assert.notEqual(kubeconfig, USER_KUBECONFIG, `${what}: not the user's $KUBECONFIG`);
    assert.notEqual(kubeconfig, DEFAULT_KUBECONFIG, `${what}: not ~/.kube/config`);
    assert.equal(call.kubeconfigDirExisted, true, `${what}: the private dir exists while kind runs`);
    assert.equal(call.kubeconfigExisted, false, `${what}: the private kubeconfig starts empty`);
    if (call.argv[1] === "create" || call.argv[1] === "delete") {
      const at = call.argv.indexOf("--kubeconfig");
      assert.ok(at >= 0, `${what}: passes --kubeconfig`);
      assert.equal(call.argv[at + 1], kubeconfig, `${what}: --kubeconfig is the same file as env.KUBECONFIG`);
    } else {
      assert.ok(!call.argv.includes("--kubeconfig"), `${what}: kind ${call.argv[1]} has no --kubeconfig flag`);
    }
    assert.equal(fs.existsSync(path.dirname(kubeconfig)), false, `${what}: the private dir is removed afterwards`);
  }
}

// The provider must ignore the user's $KUBECONFIG; set one so "never equal to it" means something.
let savedKubeconfig: string | undefined;
before(() => {
  savedKubeconfig = process.env.KUBECONFIG;
  process.env.KUBECONFIG = USER_KUBECONFIG;
});
after(() => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
});

describe("kind provider: create", () => {
  it("checks its tools, writes the kind config, creates and waits, then reads the kubeconfig", async () => {
    const { runner, calls } = fakeRunner({});
    const provider = new KindProvider(runner);
    const result = await provider.create({ name: "fleet-staging", nodeImage: "kindest/node:v1.35.0", workers: 2 });

    assert.deepEqual(calls.map(shownArgv), [
      ["kind", "version"],
      ["docker", "info", "--format", "{{.ServerVersion}}"],
      ["kind", "get", "clusters"],
      ["kind", "create", "cluster", "--name", "fleet-staging", "--config", "<config>", "--kubeconfig", "<kubeconfig>", "--wait", "5m"],
      ["kind", "get", "kubeconfig", "--name", "fleet-staging"],
    ]);
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

describe("kind provider: kind never touches the user's kubeconfig", () => {
  it("create runs every kind command against a private kubeconfig, passes it to create, and removes it", async () => {
    const { runner, calls } = fakeRunner({});
    await new KindProvider(runner).create({ name: "fleet-staging", workers: 1 });
    assert.deepEqual(
      calls.filter((c) => c.argv[0] === "kind").map((c) => c.argv.slice(0, 3).join(" ")),
      ["kind version", "kind get clusters", "kind create cluster", "kind get kubeconfig"],
    );
    assertPrivateKubeconfig(calls);
  });

  it("removes the private kubeconfig when kind create cluster fails", async () => {
    const { runner, calls } = fakeRunner({ "kind create cluster": { code: 1, stderr: "ERROR: failed to create cluster" } });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), /failed to create cluster/);
    assert.ok(calls.some((c) => c.argv[1] === "create"));
    assertPrivateKubeconfig(calls);
  });

  it("removes the private kubeconfig and the kind config when the runner itself throws", async () => {
    const { runner, calls } = fakeRunner({ "kind create cluster": new Error("spawn E2BIG") });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), /spawn E2BIG/);
    const create = calls.find((c) => c.argv[1] === "create");
    assert.ok(create);
    assert.equal(fs.existsSync(create.argv[create.argv.indexOf("--config") + 1]), false);
    assertPrivateKubeconfig(calls);
  });

  it("delete removes the cluster from a private kubeconfig only, also when kind fails", async () => {
    const ok = fakeRunner({});
    await new KindProvider(ok.runner).delete("fleet-staging");
    assertPrivateKubeconfig(ok.calls);
    const failing = fakeRunner({ "kind delete": { code: 1, stderr: "permission denied" } });
    await assert.rejects(new KindProvider(failing.runner).delete("fleet-staging"), /permission denied/);
    assertPrivateKubeconfig(failing.calls);
  });

  it("read and update run kind get clusters / get kubeconfig against a private kubeconfig", async () => {
    const { runner, calls } = fakeRunner({}, ["c"]);
    const provider = new KindProvider(runner);
    const state = { name: "c", workers: 0, kubeconfig: "", endpoint: "", context: "kind-c" };
    await provider.read("c", state);
    await provider.update("c", state, { name: "c", workers: 0 });
    assert.deepEqual(calls.map((c) => c.argv.join(" ")), ["kind get clusters", "kind get kubeconfig --name c", "kind get kubeconfig --name c"]);
    assertPrivateKubeconfig(calls);
  });

  it("a failed preflight leaves no private kubeconfig behind", async () => {
    const { runner, calls } = fakeRunner({ "kind version": { code: 0, stdout: "kind v0.20.0 go1.20.4 linux/amd64\n" } });
    await assert.rejects(new KindProvider(runner).preflight(), /v0\.20\.0/);
    assertPrivateKubeconfig(calls);
  });

  it("the real runner sets the given env over the process's environment", async () => {
    const script = "process.stdout.write(JSON.stringify([process.env.KUBECONFIG, process.env.PATH]))";
    const withEnv = await execRunner(process.execPath, ["-e", script], { env: { KUBECONFIG: "/tmp/private/kubeconfig" } });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.deepEqual(JSON.parse(withEnv.stdout), ["/tmp/private/kubeconfig", process.env.PATH]);
    const without = await execRunner(process.execPath, ["-e", script]);
    assert.deepEqual(JSON.parse(without.stdout), [process.env.KUBECONFIG, process.env.PATH]);
  });
});

describe("kind provider: supported kind versions", () => {
  const INSTALL = "install kind v0.32.0: https://kind.sigs.k8s.io/docs/user/quick-start/#installation";

  const preflight = async (stdout: string) => {
    const { runner, calls } = fakeRunner({ "kind version": { code: 0, stdout } });
    await new KindProvider(runner).preflight();
    return calls;
  };

  it("parses the version kind prints", () => {
    assert.equal(parseKindVersion("kind v0.32.0 go1.26.3 linux/amd64\n"), "0.32.0");
    assert.equal(parseKindVersion("kind v0.31.0 go1.25.5 linux/amd64"), "0.31.0");
    assert.equal(parseKindVersion("kind v0.33.0-alpha.12+0123456789abcd go1.26.3 linux/amd64"), "0.33.0-alpha.12");
    assert.equal(parseKindVersion("kind v0.32.0"), "0.32.0");
    assert.equal(parseKindVersion("garbage"), undefined);
    assert.equal(parseKindVersion(""), undefined);
    assert.equal(parseKindVersion("kind version 0.32"), undefined);
  });

  for (const stdout of ["kind v0.31.0 go1.25.5 linux/amd64\n", "kind v0.32.0 go1.26.3 linux/amd64\n", "kind v0.32.7 go1.26.3 darwin/arm64\n"]) {
    it(`accepts ${stdout.trim()}`, async () => {
      const calls = await preflight(stdout);
      assert.deepEqual(calls.map((c) => c.argv[0]), ["kind", "docker"], "preflight goes on to check Docker");
    });
  }

  it("refuses kind v0.20.0, naming the version, the supported range and the fix, and creates nothing", async () => {
    const { runner, calls } = fakeRunner({ "kind version": { code: 0, stdout: "kind v0.20.0 go1.20.4 linux/amd64\n" } });
    await assert.rejects(new KindProvider(runner).create({ name: "c", workers: 0 }), (e: Error) => {
      assert.match(e.message, /found kind v0\.20\.0, but this project supports kind >= v0\.31\.0 and < v0\.33\.0 \(0\.31\.x or 0\.32\.x\)/);
      assert.ok(e.message.includes(INSTALL), e.message);
      return true;
    });
    assert.deepEqual(calls.map((c) => c.argv.join(" ")), ["kind version"], "nothing runs after a refused version");
  });

  for (const stdout of [
    "kind v0.33.1 go1.26.3 linux/amd64",
    "kind v0.30.0 go1.24.6 linux/amd64",
    "kind v0.320.0 go1.26.3 linux/amd64", // numeric, not string, comparison
    "kind v1.32.0 go1.26.3 linux/amd64",
    "kind v0.32.0-alpha.5+0123456789abcd go1.26.3 linux/amd64", // a development build, not a release
  ]) {
    it(`refuses ${stdout}`, async () => {
      const version = stdout.split(" ")[1].split("+")[0];
      await assert.rejects(preflight(stdout), (e: Error) => {
        assert.ok(e.message.includes(`found kind ${version},`), e.message);
        assert.ok(e.message.includes(">= v0.31.0 and < v0.33.0"), e.message);
        assert.ok(e.message.includes(INSTALL), e.message);
        return true;
      });
    });
  }

  it("refuses output it cannot read, quoting it", async () => {
    await assert.rejects(preflight("garbage\n"), (e: Error) => {
      assert.ok(e.message.includes('unrecognised kind version (`kind version` printed "garbage")'), e.message);
      assert.ok(e.message.includes(">= v0.31.0 and < v0.33.0"), e.message);
      assert.ok(e.message.includes(INSTALL), e.message);
      return true;
    });
  });

  it("pins a node image by digest for every supported kind minor, and none other", () => {
    const [major, minMinor] = SUPPORTED_KIND.min.split(".").map(Number);
    const belowMinor = Number(SUPPORTED_KIND.below.split(".")[1]);
    const minors = Array.from({ length: belowMinor - minMinor }, (_, i) => `${major}.${minMinor + i}`);
    assert.deepEqual(Object.keys(KIND_NODE_IMAGES).sort(), minors);
    for (const image of Object.values(KIND_NODE_IMAGES)) assert.match(image, /^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    assert.equal(KIND_NODE_IMAGES["0.32"], "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5");
    assert.equal(KIND_NODE_IMAGES["0.31"], "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f");
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

  it("updates in place (never replaces) when only the provider code changed, so the new code is stored", async () => {
    assert.deepEqual(
      await provider.diff("c", { ...olds, __provider: "old code" }, { name: "c", nodeImage: "kindest/node:v1.35.0", workers: 1, __provider: "new code" }),
      { changes: true, replaces: [], deleteBeforeReplace: false },
    );
  });

  it("reports no change when the provider code and the spec are the same", async () => {
    assert.deepEqual(
      await provider.diff("c", { ...olds, __provider: "same code" }, { name: "c", nodeImage: "kindest/node:v1.35.0", workers: 1, __provider: "same code" }),
      { changes: false, replaces: [], deleteBeforeReplace: false },
    );
  });

  it("still replaces (delete first) when the spec and the provider code both changed", async () => {
    assert.deepEqual(
      await provider.diff("c", { ...olds, __provider: "old code" }, { name: "c", nodeImage: "kindest/node:v1.35.0", workers: 2, __provider: "new code" }),
      { changes: true, replaces: ["workers"], deleteBeforeReplace: true },
    );
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

describe("kind provider: update", () => {
  it("returns the whole state, read afresh, so the stored outputs stay complete", async () => {
    const { runner, calls } = fakeRunner({}, ["fleet-staging"]);
    const olds = {
      name: "fleet-staging", nodeImage: "kindest/node:v1.35.0", workers: 1,
      kubeconfig: "stale", endpoint: "https://127.0.0.1:1", context: "kind-fleet-staging", __provider: "old code",
    };
    const news = { name: "fleet-staging", nodeImage: "kindest/node:v1.35.0", workers: 1, __provider: "new code" };
    assert.deepEqual(await new KindProvider(runner).update("fleet-staging", olds, news), {
      outs: {
        name: "fleet-staging",
        nodeImage: "kindest/node:v1.35.0",
        workers: 1,
        kubeconfig: KUBECONFIG,
        endpoint: "https://127.0.0.1:41234",
        context: "kind-fleet-staging",
      },
    });
    assert.deepEqual(calls.map((c) => c.argv.join(" ")), ["kind get kubeconfig --name fleet-staging"], "nothing is created or deleted");
  });

  it("keeps an unpinned image unpinned", async () => {
    const { runner } = fakeRunner({}, ["c"]);
    const olds = { name: "c", workers: 0, kubeconfig: "", endpoint: "", context: "kind-c" };
    assert.deepEqual(await new KindProvider(runner).update("c", olds, { name: "c", workers: 0 }), {
      outs: { name: "c", workers: 0, kubeconfig: KUBECONFIG, endpoint: "https://127.0.0.1:41234", context: "kind-c" },
    });
  });
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

  it("delete runs kind delete cluster with the cluster's name and a private --kubeconfig", async () => {
    const { runner, calls } = fakeRunner({});
    await new KindProvider(runner).delete("fleet-staging");
    assert.deepEqual(calls.map(shownArgv), [["kind", "delete", "cluster", "--name", "fleet-staging", "--kubeconfig", "<kubeconfig>"]]);
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

describe("kind provider: as Pulumi stores it", () => {
  it("still works after closure serialization, the way Pulumi's dynamic-provider host loads it from state", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    // The host runs `requireFromString(props.__provider).handler()` (cmd/dynamic-provider/index.js).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => { handler: () => KindProvider };
    // A self-contained fake runner: it is serialized along with the provider.
    const runner = async (command: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult> => {
      const line = [command, ...args].join(" ");
      if (!options?.env?.KUBECONFIG?.includes("fleet-kind-")) return { code: 1, stdout: "", stderr: `no private KUBECONFIG for ${line}` };
      if (line === "kind version") return { code: 0, stdout: "kind v0.20.0 go1.20.4 linux/amd64\n", stderr: "" };
      if (line.startsWith("kind get kubeconfig")) return { code: 0, stdout: "clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n", stderr: "" };
      if (line.startsWith("kind delete cluster") && !args.includes("--kubeconfig")) return { code: 1, stdout: "", stderr: "no --kubeconfig" };
      return { code: 0, stdout: "", stderr: "" };
    };
    const original = new KindProvider(runner);
    const serialized = await pulumi.runtime.serializeFunction(() => original);
    const provider = requireFromString(serialized.text).handler();

    await assert.rejects(provider.preflight(), /found kind v0\.20\.0, but this project supports kind >= v0\.31\.0 and < v0\.33\.0.*install kind v0\.32\.0/);
    assert.deepEqual(await provider.diff("c", { name: "c", workers: 0, kubeconfig: "", endpoint: "", context: "kind-c", __provider: "a" }, { name: "c", workers: 0, __provider: "b" }), {
      changes: true, replaces: [], deleteBeforeReplace: false,
    });
    assert.deepEqual(await provider.update("c", { name: "c", workers: 0, kubeconfig: "", endpoint: "", context: "kind-c" }, { name: "c", workers: 0 }), {
      outs: { name: "c", workers: 0, kubeconfig: "clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n", endpoint: "https://127.0.0.1:6443", context: "kind-c" },
    });
    await provider.delete("c");
  });
});

describe("kubeconfigServer", () => {
  it("finds the API server URL, quoted or not", () => {
    assert.equal(kubeconfigServer(KUBECONFIG), "https://127.0.0.1:41234");
    assert.equal(kubeconfigServer('clusters:\n- cluster:\n    server: "https://10.0.0.1:6443"\n'), "https://10.0.0.1:6443");
    assert.equal(kubeconfigServer("kind: Config\n"), "");
  });
});
