/**
 * The refresh guard (scripts/refresh-guard.ts): GitHub answers 404 for a private repository a
 * token cannot see, and the GitHub provider reads a 404 on refresh as "deleted". The guard names
 * every repository the state holds something in that the token does not see. The real tier runs it
 * on a real `pulumi stack export` against the GitHub double (test/real/fleet.spec.ts, 1h).
 */
import { strict as assert } from "assert";
import { IN_REPOSITORY, repositoriesInState } from "../scripts/refresh-guard";
import { unseenRepositories } from "../components/github/unseen-repositories";
import { GitHubRequest } from "../components/github/client";
import { runProgram, stackConfig } from "./harness";

describe("Refresh guard: no refresh while GITHUB_TOKEN cannot see a repository the state holds", () => {
  const state = {
    resources: [
      { type: "pulumi:providers:github", urn: "urn:p", inputs: { owner: "acme-org" }, outputs: { owner: "acme-org" } },
      { type: "github:index/repository:Repository", urn: "urn:a", outputs: { name: "flux-fleet" } },
      { type: "github:index/repositoryDeployKey:RepositoryDeployKey", urn: "urn:b", outputs: { repository: "analytics-gitops" } },
      { type: "github:index/repositoryDeployKey:RepositoryDeployKey", urn: "urn:c", outputs: { repository: "flux-fleet" } },
      { type: "kubernetes:core/v1:Namespace", urn: "urn:d", outputs: { metadata: { name: "shop" } } },
    ],
  };

  it("reads the owner and every repository the state holds something in, owned or only keyed", () => {
    assert.deepEqual(repositoriesInState(state), { owner: "acme-org", repositories: ["analytics-gitops", "flux-fleet"] });
    assert.deepEqual(repositoriesInState({}), { repositories: [] });
  });

  it("names each repository GitHub does not show the token, 404 and refusals alike, and passes the rest", async () => {
    const asked: string[] = [];
    const request: GitHubRequest = async (_method, path) => {
      asked.push(path);
      if (path.endsWith("/analytics-gitops")) return { status: 404, body: { message: "Not Found" } };
      if (path.endsWith("/other")) return { status: 403, body: { message: "Resource not accessible by personal access token" } };
      return { status: 200, body: {} };
    };
    const problems = await unseenRepositories("acme-org", ["analytics-gitops", "flux-fleet", "other"], request);
    assert.deepEqual(asked, ["/repos/acme-org/analytics-gitops", "/repos/acme-org/flux-fleet", "/repos/acme-org/other"]);
    assert.deepEqual(problems, [
      "acme-org/analytics-gitops: GitHub answers 404 to GITHUB_TOKEN (the repository is gone, or the token cannot see it)",
      "acme-org/other: GitHub answers 403 (Resource not accessible by personal access token)",
    ]);
    assert.deepEqual(await unseenRepositories("acme-org", ["flux-fleet"], request), []);
  });

  it("knows every GitHub resource type the program registers in a repository", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:repository": { create: true, team: "platform" } } });
    assert.equal(result.error, undefined, result.error?.message);
    const inRepository = new Set(result.resources.filter((r) => r.custom && (r.type.startsWith("github:") || r.inputs.repository !== undefined)).map((r) => r.type));
    assert.ok(inRepository.size >= 5, [...inRepository].join(", "));
    for (const type of inRepository) assert.ok(type in IN_REPOSITORY, `${type} is not checked before a refresh`);
  });
});
