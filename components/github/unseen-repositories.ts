/**
 * Which repositories GITHUB_TOKEN cannot see, asked of GitHub's REST API through client.ts, for
 * the refresh guard (scripts/refresh-guard.ts): GitHub answers 404, not 403, for a private
 * repository a token cannot see, and the GitHub provider reads a 404 on refresh as "deleted".
 */
import { fetchGitHub, GitHubRequest } from "./client";

/** The problems a refresh would turn into lost state: one line per repository the token does not see. */
export async function unseenRepositories(owner: string, repositories: readonly string[], request: GitHubRequest = fetchGitHub): Promise<string[]> {
  const problems: string[] = [];
  for (const name of repositories) {
    const answer = await request("GET", `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`);
    if (answer.status === 200) continue;
    const message = typeof answer.body === "object" && answer.body !== null ? answer.body.message : answer.body;
    problems.push(
      answer.status === 404
        ? `${owner}/${name}: GitHub answers 404 to GITHUB_TOKEN (the repository is gone, or the token cannot see it)`
        : `${owner}/${name}: GitHub answers ${answer.status}${message ? ` (${String(message)})` : ""}`,
    );
  }
  return problems;
}
