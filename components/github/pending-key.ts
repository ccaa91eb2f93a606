/**
 * A deploy key GitHub already holds with a given public key, for `npm run recover`
 * (scripts/recover.ts): a `pulumi up` cut off after GitHub created a deploy key and before the
 * engine recorded it leaves a pending create in state and the key on GitHub. GitHub refuses the
 * same public key a second time, anywhere (422 "key is already in use"), so every later `up`
 * fails on that key until it is imported.
 */
import { failure, fetchGitHub, GitHubRequest } from "./client";

/** A key as GitHub stores it: type and base64 body, without the comment (GitHub drops it). */
export function keyMaterial(key: string): string {
  return key.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** The repository's deploy key whose public key is `publicKey`, or undefined when it has none. */
export async function deployKeyWithPublicKey(
  owner: string,
  repository: string,
  publicKey: string,
  request: GitHubRequest = fetchGitHub,
): Promise<{ readonly id: number; readonly title: string } | undefined> {
  const want = keyMaterial(publicKey);
  // GitHub pages the list, 30 by default and 100 at most (REST "List deploy keys").
  for (let page = 1; ; page++) {
    const answer = await request("GET", `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repository)}/keys?per_page=100&page=${page}`);
    if (answer.status !== 200 || !Array.isArray(answer.body)) throw failure(`listing the deploy keys of ${owner}/${repository}`, answer);
    const keys = answer.body as { id: number; key: string; title: string }[];
    const found = keys.find((k) => keyMaterial(k.key) === want);
    if (found) return { id: found.id, title: found.title };
    if (keys.length < 100) return undefined;
  }
}
