/**
 * Scaffold files against a fake GitHub that answers the way the contents API does: written only
 * when absent, never re-created after being deleted or moved on GitHub, never reverted.
 */
import { strict as assert } from "assert";
import * as http from "http";
import { BranchExistsProvider } from "../components/github/branch-exists";
import { fetchGitHub, GitHubRequest, GitHubResponse } from "../components/github/client";
import { ScaffoldFileProvider, ScaffoldFileSpec, ScaffoldFileState } from "../components/github/scaffold-file";

/** A repository's files on one branch, behind GET/PUT /repos/{owner}/{repo}/contents/{path}. */
class FakeGitHub {
  readonly files = new Map<string, { content: string; sha: string }>();
  readonly calls: { method: string; path: string; body?: any }[] = [];
  /** Answers to give before the normal ones, e.g. a 409 once. */
  readonly queued: GitHubResponse[] = [];
  private commits = 0;

  readonly request: GitHubRequest = async (method, path, body) => {
    this.calls.push({ method, path, body });
    const queued = this.queued.shift();
    if (queued) return queued;
    const file = decodeURIComponent(path.replace(/^\/repos\/[^/]+\/[^/]+\/contents\/?/, "").replace(/\?.*$/, ""));
    const existing = this.files.get(file);
    if (method === "GET") {
      if (existing) return { status: 200, body: { sha: existing.sha, path: file, encoding: "base64", content: Buffer.from(existing.content).toString("base64") } };
      // A directory: GitHub lists its entries (name, path, type); a path that is neither is a 404.
      const prefix = file === "" ? "" : `${file}/`;
      const children = new Map<string, "file" | "dir">();
      for (const f of this.files.keys()) {
        if (!f.startsWith(prefix)) continue;
        const [name, ...rest] = f.slice(prefix.length).split("/");
        children.set(name, rest.length > 0 ? "dir" : "file");
      }
      return children.size > 0
        ? { status: 200, body: [...children].map(([name, type]) => ({ name, path: `${prefix}${name}`, type })) }
        : { status: 404, body: { message: "Not Found" } };
    }
    const b = body as { content: string; sha?: string };
    if (existing && b.sha !== existing.sha) return { status: 422, body: { message: '"sha" wasn\'t supplied.' } };
    const sha = `commit-${++this.commits}`;
    this.files.set(file, { content: Buffer.from(b.content, "base64").toString("utf8"), sha: `blob-${this.commits}` });
    return { status: existing ? 200 : 201, body: { commit: { sha } } };
  };

  writes(): number {
    return this.calls.filter((c) => c.method === "PUT").length;
  }
}

const SPEC: ScaffoldFileSpec = {
  owner: "acme-org",
  repository: "shop-deploy",
  branch: "main",
  path: "flux/staging/kustomization.yaml",
  content: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
  message: "fleet (staging): scaffold flux/staging/kustomization.yaml",
  replaceInitial: false,
};

describe("Scaffold files: written once, when absent", () => {
  it("an absent file is committed to the branch with the content and message", async () => {
    const github = new FakeGitHub();
    const created = await new ScaffoldFileProvider(github.request, 0).create(SPEC);
    assert.equal(github.files.get(SPEC.path)?.content, SPEC.content);
    const put = github.calls.find((c) => c.method === "PUT")!;
    assert.equal(put.path, "/repos/acme-org/shop-deploy/contents/flux/staging/kustomization.yaml");
    assert.deepEqual([put.body.branch, put.body.message, put.body.sha], ["main", SPEC.message, undefined]);
    assert.equal(created.outs?.written, true);
    assert.equal(created.outs?.commit, "commit-1");
  });

  it("an existing file is left exactly as it is", async () => {
    const github = new FakeGitHub();
    github.files.set(SPEC.path, { content: "the team's own", sha: "blob-0" });
    const created = await new ScaffoldFileProvider(github.request, 0).create(SPEC);
    assert.equal(github.writes(), 0);
    assert.equal(github.files.get(SPEC.path)?.content, "the team's own");
    assert.equal(created.outs?.written, false);
  });

  it("replaceInitial replaces the README autoInit wrote (title and description), with its sha", async () => {
    for (const initial of ["# shop-deploy\n", "# shop-deploy\nDeployment repository of tenant shop\n"]) {
      const github = new FakeGitHub();
      github.files.set("README.md", { content: initial, sha: "blob-0" });
      await new ScaffoldFileProvider(github.request, 0).create({ ...SPEC, path: "README.md", content: "# ours\n", replaceInitial: true });
      assert.equal(github.files.get("README.md")?.content, "# ours\n");
      assert.equal(github.calls.find((c) => c.method === "PUT")?.body.sha, "blob-0");
    }
  });

  it("replaceInitial keeps a README someone has written, even when the scaffold file is created late", async () => {
    const github = new FakeGitHub();
    github.files.set("README.md", { content: "# shop-deploy\n\nOur runbook.\n\n## Deploying\n", sha: "blob-0" });
    const created = await new ScaffoldFileProvider(github.request, 0).create({ ...SPEC, path: "README.md", content: "# ours\n", replaceInitial: true });
    assert.equal(github.writes(), 0);
    assert.equal(created.outs?.written, false);
    assert.match(github.files.get("README.md")!.content, /Our runbook/);
  });

  it("a file deleted on GitHub is not committed again by refresh + up", async () => {
    const github = new FakeGitHub();
    const provider = new ScaffoldFileProvider(github.request, 0);
    const { id, outs } = await provider.create(SPEC);
    github.files.delete(SPEC.path); // the team deleted (or moved) it
    const refreshed = await provider.read(id, outs as ScaffoldFileState);
    assert.equal(refreshed.id, id, "refresh keeps it in state, so up has nothing to create");
    assert.deepEqual(refreshed.props, outs);
    const diff = await provider.diff(id, refreshed.props!, SPEC);
    assert.equal(diff.changes, false);
    assert.equal(github.writes(), 1, "only the first commit");
    assert.equal(github.files.has(SPEC.path), false);
  });

  it("a content change in the program is not applied: the file belongs to its people", async () => {
    const provider = new ScaffoldFileProvider(new FakeGitHub().request, 0);
    const { id, outs } = await provider.create(SPEC);
    const diff = await provider.diff(id, outs as ScaffoldFileState, { ...SPEC, content: "something else" });
    assert.equal(diff.changes, false);
  });

  it("a new path is a new file (the old one stays), and new provider code is stored by an in-place update", async () => {
    const provider = new ScaffoldFileProvider(new FakeGitHub().request, 0);
    const { id, outs } = await provider.create(SPEC);
    const moved = await provider.diff(id, outs as ScaffoldFileState, { ...SPEC, path: "deploy/flux/staging/kustomization.yaml" });
    assert.deepEqual([moved.changes, moved.replaces, moved.deleteBeforeReplace], [true, ["path"], false]);
    const code = await provider.diff(id, { ...(outs as ScaffoldFileState), __provider: "old" } as any, { ...SPEC, __provider: "new" } as any);
    assert.deepEqual([code.changes, code.replaces], [true, []]);
    const updated = await provider.update(id, outs as ScaffoldFileState, { ...SPEC, content: "edited" });
    assert.equal(updated.outs?.content, SPEC.content, "the update stores state, it does not rewrite the file");
    assert.equal(updated.outs?.written, true);
  });

  it("destroy leaves the file in the repository", async () => {
    const github = new FakeGitHub();
    const provider = new ScaffoldFileProvider(github.request, 0);
    const { id, outs } = await provider.create(SPEC);
    await provider.delete(id, outs as ScaffoldFileState);
    assert.equal(github.files.get(SPEC.path)?.content, SPEC.content);
  });

  it("a 409 (the branch moved) is retried; other errors fail naming the file and GitHub's answer", async () => {
    const github = new FakeGitHub();
    // The directory listing, the file, then the commit GitHub refuses once.
    github.queued.push({ status: 404, body: {} }, { status: 404, body: {} }, { status: 409, body: { message: "is at abc but expected def" } });
    await new ScaffoldFileProvider(github.request, 0).create(SPEC);
    assert.equal(github.files.get(SPEC.path)?.content, SPEC.content);
    const denied = new FakeGitHub();
    denied.queued.push({ status: 403, body: { message: "Resource not accessible by integration" } });
    await assert.rejects(
      new ScaffoldFileProvider(denied.request, 0).create(SPEC),
      /listing acme-org\/shop-deploy@main:flux\/staging failed: GitHub answered 403 \(Resource not accessible by integration\)/,
    );
  });
});

describe("Scaffold files: a kustomization.yaml never takes over someone's directory", () => {
  const put = (github: FakeGitHub, path: string, content = "x\n") => github.files.set(path, { content, sha: `blob-${path}` });

  it("a directory that already holds files is left as it is: no kustomization.yaml, so Flux still builds all of it", async () => {
    const github = new FakeGitHub();
    put(github, "flux/staging/app.yaml");
    const created = await new ScaffoldFileProvider(github.request, 0).create(SPEC);
    assert.equal(created.outs?.written, false);
    assert.equal(github.writes(), 0);
    assert.deepEqual([...github.files.keys()], ["flux/staging/app.yaml"]);
  });

  it("an absent or empty directory gets its kustomization.yaml; a sibling directory does not count", async () => {
    const github = new FakeGitHub();
    put(github, "flux/production/app.yaml");
    const created = await new ScaffoldFileProvider(github.request, 0).create(SPEC);
    assert.equal(created.outs?.written, true);
    assert.ok(github.files.has("flux/staging/kustomization.yaml"));
  });

  it("a flux bootstrap directory (flux-system/) is refused in the preview and at create, naming fleet:repository.path", async () => {
    const github = new FakeGitHub();
    put(github, "clusters/staging/flux-system/gotk-sync.yaml");
    const spec = { ...SPEC, repository: "flux-fleet", path: "clusters/staging/kustomization.yaml" };
    const provider = new ScaffoldFileProvider(github.request, 0);
    const checked = await provider.check({}, spec);
    assert.equal(checked.failures?.length, 1);
    assert.equal(checked.failures?.[0].property, "path");
    assert.match(checked.failures![0].reason, /^acme-org\/flux-fleet@main:clusters\/staging\/flux-system is a flux bootstrap layout: .*prune the rest.*Point this stack's fleet:repository\.path at a new directory/);
    await assert.rejects(provider.create(spec), /flux-system is a flux bootstrap layout/);
    assert.equal(github.writes(), 0);
  });

  it("check reads nothing for a file already in state, an unknown input or another file, and passes when GitHub cannot answer", async () => {
    const github = new FakeGitHub();
    const provider = new ScaffoldFileProvider(github.request, 0);
    assert.deepEqual(await provider.check(SPEC, SPEC), { inputs: SPEC });
    assert.deepEqual(await provider.check({}, { ...SPEC, repository: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }), { inputs: { ...SPEC, repository: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } });
    assert.deepEqual(await provider.check({}, { ...SPEC, path: "README.md" }), { inputs: { ...SPEC, path: "README.md" } });
    assert.equal(github.calls.length, 0);
    const denied = new ScaffoldFileProvider(async () => ({ status: 401, body: { message: "Bad credentials" } }), 0);
    assert.deepEqual(await denied.check({}, SPEC), { inputs: SPEC }, "left to create, which reports it");
  });
});

describe("Generated repositories: waiting for the branch", () => {
  const BRANCH = { owner: "acme-org", repository: "shop-deploy", branch: "main", timeoutSeconds: 5 };

  it("polls until GitHub has filled the generated repository in, reading only", async () => {
    const calls: string[] = [];
    let answers = 0;
    const request: GitHubRequest = async (method, path) => {
      calls.push(`${method} ${path}`);
      return ++answers < 3 ? { status: 404, body: { message: "Branch not found" } } : { status: 200, body: { name: "main" } };
    };
    const created = await new BranchExistsProvider(request, 0).create(BRANCH);
    assert.equal(created.id, "acme-org/shop-deploy@main");
    assert.deepEqual(calls, Array(3).fill("GET /repos/acme-org/shop-deploy/branches/main"));
  });

  it("gives up after its timeout, saying to run pulumi up again", async () => {
    const request: GitHubRequest = async () => ({ status: 404, body: {} });
    await assert.rejects(new BranchExistsProvider(request, 0).create({ ...BRANCH, timeoutSeconds: 0 }), /did not appear within 0s.*run pulumi up again/);
  });

  it("any other answer fails at once with GitHub's message", async () => {
    const request: GitHubRequest = async () => ({ status: 401, body: { message: "Bad credentials" } });
    await assert.rejects(new BranchExistsProvider(request, 0).create(BRANCH), /waiting for acme-org\/shop-deploy@main failed: GitHub answered 401 \(Bad credentials\)/);
  });
});

describe("Scaffold files: as Pulumi stores them", () => {
  // The dynamic-provider host runs `requireFromString(props.__provider).handler()` on the code
  // Pulumi serialized into state (cmd/dynamic-provider/index.js): the providers must survive it.
  async function roundTrip<T>(provider: T): Promise<T> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => { handler: () => T };
    const serialized = await pulumi.runtime.serializeFunction(() => provider);
    return requireFromString(serialized.text).handler();
  }

  it("a ScaffoldFile provider with a self-contained fake GitHub still writes only when absent", async () => {
    const request: GitHubRequest = async (method) =>
      method === "GET" ? { status: 404, body: {} } : { status: 201, body: { commit: { sha: "c1" } } };
    const provider = await roundTrip(new ScaffoldFileProvider(request, 0));
    const created = await provider.create(SPEC);
    assert.deepEqual([created.outs?.written, created.outs?.commit], [true, "c1"]);
    assert.deepEqual((await provider.diff(created.id, created.outs as ScaffoldFileState, { ...SPEC, content: "x" })).changes, false);
  });

  it("the real GitHub client survives serialization and asks for GITHUB_TOKEN before any request", async () => {
    const saved = process.env.GITHUB_TOKEN;
    delete process.env.GITHUB_TOKEN;
    try {
      const files = await roundTrip(new ScaffoldFileProvider());
      await assert.rejects(files.create(SPEC), /GITHUB_TOKEN is not set/);
      const branches = await roundTrip(new BranchExistsProvider());
      await assert.rejects(branches.create({ owner: "o", repository: "r", branch: "main", timeoutSeconds: 1 }), /GITHUB_TOKEN is not set/);
    } finally {
      if (saved !== undefined) process.env.GITHUB_TOKEN = saved;
    }
  });
});

describe("The real GitHub client keeps to GitHub's rules for writers", () => {
  // A GitHub stand-in on the loopback interface; GITHUB_API_URL points the client at it.
  let server: http.Server;
  let log: { method: string; at: number; authorization?: string }[] = [];
  let answers: { status: number; headers?: Record<string, string>; body: unknown }[] = [];
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    server = http.createServer((req, res) => {
      log.push({ method: req.method ?? "", at: Date.now(), authorization: req.headers.authorization });
      const answer = answers.shift() ?? { status: req.method === "GET" ? 404 : 201, body: req.method === "GET" ? { message: "Not Found" } : { commit: { sha: "c" } } };
      res.writeHead(answer.status, { "content-type": "application/json", ...(answer.headers ?? {}) });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    for (const key of ["GITHUB_TOKEN", "GITHUB_API_URL", "FLEET_GITHUB_WRITE_DELAY_MS"]) saved[key] = process.env[key];
    process.env.GITHUB_TOKEN = "test-token";
    process.env.GITHUB_API_URL = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    process.env.FLEET_GITHUB_WRITE_DELAY_MS = "300";
  });
  after(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    log = [];
    answers = [];
  });

  it("writes go one at a time, spaced, with the token", async () => {
    await Promise.all([fetchGitHub("PUT", "/repos/o/r/contents/a", {}), fetchGitHub("PUT", "/repos/o/r/contents/b", {}), fetchGitHub("GET", "/repos/o/r/contents/c")]);
    const puts = log.filter((l) => l.method === "PUT");
    assert.equal(puts.length, 2);
    assert.ok(puts[1].at - puts[0].at >= 290, `writes ${puts[1].at - puts[0].at} ms apart`);
    assert.ok(log.every((l) => l.authorization === "Bearer test-token"));
  });

  it("a secondary rate-limit answer is waited out and retried", async () => {
    answers.push({ status: 403, headers: { "retry-after": "0" }, body: { message: "You have exceeded a secondary rate limit" } });
    const answer = await fetchGitHub("PUT", "/repos/o/r/contents/a", {});
    assert.equal(answer.status, 201);
    assert.equal(log.filter((l) => l.method === "PUT").length, 2);
  });

  it("a 403 that is not a rate limit is returned at once", async () => {
    answers.push({ status: 403, body: { message: "Resource not accessible by integration" } });
    const answer = await fetchGitHub("PUT", "/repos/o/r/contents/a", {});
    assert.equal(answer.status, 403);
    assert.equal(log.length, 1);
  });
});
