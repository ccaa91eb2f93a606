/**
 * The GitHub REST client: the one module in the program that calls GitHub's REST API, with GitHub's
 * rules for writers (pacing, rate-limit retries, timeouts). The dynamic providers (ScaffoldFile,
 * BranchExists, BootstrapKeyRevocation) and scripts/refresh-guard.ts use it; tests inject a
 * `GitHubRequest` in its place. The token comes from `GITHUB_TOKEN` at run time and is never
 * stored; `GITHUB_API_URL` points at GitHub Enterprise (the variable GitHub Actions sets).
 *
 * Pulumi's dynamic-provider host loads the providers' modules, and this one with them, from the
 * project directory (components/provider-ref.ts): it imports nothing but the SDK's types.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface GitHubResponse {
  readonly status: number;
  readonly body: any;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One GitHub REST call; `path` starts with `/repos/…`. Injected in tests. */
export type GitHubRequest = (method: "GET" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown) => Promise<GitHubResponse>;

/**
 * The real client: `fetch` with `GITHUB_TOKEN`, against `GITHUB_API_URL` or api.github.com.
 * It keeps to GitHub's rules for writers (REST API docs, best practices and secondary rate
 * limits), as the GitHub provider does for its own requests:
 * - writes go one at a time in this process (the one dynamic-provider host serves every
 *   ScaffoldFile), at least `FLEET_GITHUB_WRITE_DELAY_MS` (default 1000) apart;
 * - a 403 or 429 rate-limit answer is retried after `retry-after`, or after `x-ratelimit-reset`
 *   when no request is left, or after a minute, up to 5 times;
 * - no request waits more than 60 s for an answer.
 */
export const fetchGitHub: GitHubRequest = async (method, path, body) => {
  const token = process.env.GITHUB_TOKEN;
  if (!token) throw new Error("GITHUB_TOKEN is not set: export a token that can write to the repository (the same one the GitHub provider uses)");
  const base = (process.env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
  const once = async () => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        Accept: "application/vnd.github+json",
        Authorization: `Bearer ${token}`,
        "X-GitHub-Api-Version": "2022-11-28",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text: it goes into the error message
    }
    return { response, answer: { status: response.status, body: parsed } };
  };
  const withRetries = async (): Promise<GitHubResponse> => {
    for (let attempt = 1; ; attempt++) {
      const { response, answer } = await once();
      const limited =
        (answer.status === 403 || answer.status === 429) &&
        (response.headers.has("retry-after") || response.headers.get("x-ratelimit-remaining") === "0" || /rate limit/i.test(String((answer.body as any)?.message)));
      if (!limited || attempt >= 5) return answer;
      const retryAfter = Number(response.headers.get("retry-after"));
      const reset = Number(response.headers.get("x-ratelimit-reset"));
      const waitMs = Number.isFinite(retryAfter) && response.headers.has("retry-after")
        ? retryAfter * 1000
        : response.headers.get("x-ratelimit-remaining") === "0" && Number.isFinite(reset)
          ? Math.max(reset * 1000 - Date.now(), 0) + 1000
          : 60_000;
      await sleep(waitMs);
    }
  };
  if (method === "GET") return withRetries();
  const spacing = Number(process.env.FLEET_GITHUB_WRITE_DELAY_MS ?? "1000");
  const queue = globalThis as { __fleetGitHubWrites?: Promise<unknown> };
  const mine = (queue.__fleetGitHubWrites ?? Promise.resolve()).then(withRetries);
  queue.__fleetGitHubWrites = mine.catch(() => undefined).then(() => sleep(spacing));
  return mine;
};

export function failure(what: string, response: GitHubResponse): Error {
  const message = typeof response.body === "object" && response.body !== null ? response.body.message : response.body;
  return new Error(`${what} failed: GitHub answered ${response.status}${message ? ` (${String(message)})` : ""}`);
}

export type WithCode<T> = T & { readonly __provider?: string };

/**
 * A diff that replaces on a change of `identity`, and otherwise takes an in-place update only
 * when the stored provider (`__provider`) changed: the dynamic-provider host runs read and delete
 * with what state holds, so a new one is stored through an update. Since the providers are stored
 * as references to their modules (components/provider-ref.ts) that happens once, when a stack
 * moves from stored code to the reference; a code change no longer changes `__provider`.
 */
export function diffOf<T extends object>(olds: WithCode<T>, news: WithCode<T>, identity: readonly (keyof T)[]): pulumi.dynamic.DiffResult {
  const replaces = identity.filter((key) => olds[key] !== news[key]).map(String);
  if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: false };
  return { changes: olds.__provider !== undefined && news.__provider !== undefined && olds.__provider !== news.__provider, replaces: [] };
}

/** `owner/name` of a Git URL on GitHub (ssh://git@host[:port]/owner/name.git, https://host/owner/name). */
export function repositoryOf(url: string): { owner: string; name: string } | undefined {
  const m = /^(?:ssh:\/\/[^/]+|https:\/\/[^/]+)\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url);
  return m ? { owner: m[1], name: m[2] } : undefined;
}

/** Whether GitHub has `owner/name` (a 404 also for a private repository the token cannot see); any other answer is thrown. */
export async function repositoryExists(owner: string, name: string, request: GitHubRequest = fetchGitHub): Promise<boolean> {
  const answer = await request("GET", `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`);
  if (answer.status === 200) return true;
  if (answer.status === 404) return false;
  throw new Error(`GitHub answered ${answer.status} for ${owner}/${name}`);
}
