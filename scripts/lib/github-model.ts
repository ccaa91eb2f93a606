/**
 * What a first `pulumi up` costs on GitHub, counted from the registrations a run makes: each
 * resource type's write requests on creation, read from the provider's source, and the time they
 * take under the GitHub provider's write spacing and GitHub's secondary rate limits. Arithmetic
 * only: no network.
 *
 * Sources:
 * - terraform-provider-github v6.13.0 (what @pulumi/github 6.15.0 wraps): `resource_github_repository.go`
 *   Create posts the repository (or `POST /repos/{template}/generate`), then continues into Update,
 *   which PATCHes its settings: two PATCHes per created repository, as the real tier's GitHub
 *   double logs them (test/real/fleet.spec.ts, 1f); `resource_github_repository_deploy_key.go` one POST;
 *   `resource_github_team_repository.go` one PUT; `resource_github_branch_default.go` no write
 *   when the branch is already the default, else one rename. `transport.go`: every request goes
 *   through one lock, and the request after a write waits `writeDelayMs` (default 1000).
 * - GitHub REST API docs, "Rate limits for the REST API", secondary rate limits: "no more than
 *   80 content-generating requests per minute and no more than 500 content-generating requests
 *   per hour".
 * - `components/github/scaffold-file.ts`: a ScaffoldFile is one `PUT /contents` when the file is absent,
 *   and only a GET when it is there (a lookup stack's file that the tenant template already gave
 *   the repository): `countWrites` takes the files known to exist, `filesAfter` computes them.
 */
import { DEFAULTS } from "../../components/config";
import { Registered } from "./evaluate";

/** Requests that create content (repositories, commits, keys), and other writes (settings, grants, renames). */
export interface Writes {
  readonly content: number;
  readonly other: number;
}

/** Branch a repository starts on: GitHub's default for new repositories, and the tenant template's. */
const INITIAL_BRANCH = "main";

const SCAFFOLD_FILE = "pulumi-nodejs:dynamic/fleet:ScaffoldFile";
const REPOSITORY = "github:index/repository:Repository";

/** `repository:path`, how `present` names a file. */
const fileKey = (repository: unknown, path: unknown) => `${String(repository)}:${String(path)}`;

/**
 * Write requests one registration makes when it is created; `present` holds the files that
 * already exist (`repository:path`), which a ScaffoldFile only reads.
 */
export function writesOf(r: Registered, present: ReadonlySet<string> = new Set()): Writes {
  switch (r.type) {
    case REPOSITORY:
      // An imported repository is read, not created (components/github/adopt.ts).
      return r.importId ? { content: 0, other: 0 } : { content: 1, other: 2 };
    case SCAFFOLD_FILE:
      return { content: present.has(fileKey(r.inputs.repository, r.inputs.path)) ? 0 : 1, other: 0 };
    case "github:index/repositoryDeployKey:RepositoryDeployKey":
      return { content: 1, other: 0 };
    case "github:index/teamRepository:TeamRepository":
      return { content: 0, other: r.importId ? 0 : 1 };
    case "github:index/branchDefault:BranchDefault":
      return { content: 0, other: r.inputs.branch === INITIAL_BRANCH ? 0 : 1 };
    default:
      return { content: 0, other: 0 }; // lookups, BranchExists, tls and Kubernetes: no GitHub write
  }
}

export function countWrites(resources: readonly Registered[], present: ReadonlySet<string> = new Set()): Writes {
  return resources.map((r) => writesOf(r, present)).reduce((a, b) => ({ content: a.content + b.content, other: a.other + b.other }), { content: 0, other: 0 });
}

/**
 * The files on GitHub once a run's resources exist (`repository:path`): every scaffold file it
 * writes, and in each repository it generates from a template, the files that template holds.
 */
export function filesAfter(resources: readonly Registered[]): Set<string> {
  const files = resources.filter((r) => r.type === SCAFFOLD_FILE);
  return new Set([...files.map((f) => fileKey(f.inputs.repository, f.inputs.path)), ...generatedFiles(resources)]);
}

/**
 * The files each repository a run generates from a template starts with (`repository:path`):
 * the template's scaffold files. A generated repository's own scaffold file for one of them
 * finds it there and writes nothing.
 */
export function generatedFiles(resources: readonly Registered[]): Set<string> {
  const files = resources.filter((r) => r.type === SCAFFOLD_FILE);
  const present = new Set<string>();
  for (const repository of resources.filter((r) => r.type === REPOSITORY && r.inputs.template && !r.importId)) {
    for (const f of files.filter((f) => f.inputs.repository === repository.inputs.template.repository)) present.add(fileKey(repository.inputs.name, f.inputs.path));
  }
  return present;
}

/** GitHub's secondary limits on content-generating requests, and the provider's default spacing. */
export const GITHUB_LIMITS = { perMinute: 80, perHour: DEFAULTS.contentWritesPerHour, writeDelayMs: 1000 } as const;

/**
 * Lower bound on the wall time of `writes`, in seconds: the provider pauses `writeDelayMs` after
 * each write; content requests past 80 must wait for the next minute, past 500 for the next hour.
 */
export function writeSeconds(writes: Writes, writeDelayMs: number = GITHUB_LIMITS.writeDelayMs): number {
  return writeTime(writes, writeDelayMs).seconds;
}

/** `writeSeconds`, and which bound gives it: the provider's spacing, or GitHub's minute or hour limit. */
export function writeTime(writes: Writes, writeDelayMs: number = GITHUB_LIMITS.writeDelayMs): { seconds: number; binding: string } {
  const all = writes.content + writes.other;
  const before = Math.max(writes.content - 1, 0); // content requests that must wait for an earlier one
  const bounds = [
    { seconds: (all * writeDelayMs) / 1000, binding: `write spacing (${writeDelayMs} ms)` },
    { seconds: Math.floor(before / GITHUB_LIMITS.perMinute) * 60, binding: `${GITHUB_LIMITS.perMinute}/min` },
    { seconds: Math.floor(before / GITHUB_LIMITS.perHour) * 3600, binding: `${GITHUB_LIMITS.perHour}/h` },
  ];
  return bounds.reduce((a, b) => (b.seconds > a.seconds ? b : a));
}
