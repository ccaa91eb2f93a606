/**
 * Create or adopt, decided before anything is registered: every repository this stack would
 * create is looked up on GitHub, and so is each of its team grants. What exists is imported
 * (`import` with the provider's ID) instead of created, so the preview shows `= import` where a
 * create would have failed at `up` with 422 "name already exists".
 *
 * The engine's import semantics this relies on, at the CLI the workflows pin (pulumi/pulumi
 * v3.274.1, pkg/resource/deploy/step_generator.go, "isImport"): a goal with an import ID is
 * imported only when the resource is not in state, or is in state under another ID; a resource
 * already in state under that ID takes the ordinary diff. So the `import` stays on a repository
 * this stack created and costs nothing. The import step reads the resource even in preview
 * (step.go, ImportStep.Apply) and fails when it is gone, so the lookup must be right: an import
 * is set only on what the lookup found. After the import the engine diffs the program's inputs
 * against what it read (continueStepsFromImport) and updates what differs, `ignoreChanges`
 * applied; so the settings this program sets only at creation are ignored on every repository
 * that exists (components/github/repository.ts, CREATION_ONLY).
 *
 * The IDs are terraform-provider-github v6.13.0's: a repository is its name
 * (resource_github_repository.go, importer `d.Set("name", d.Id())`); a team grant is
 * `<team id>:<repository>` (resource_github_team_repository.go, importer: the team part may be a
 * slug, but the ID it keeps is the numeric one, and an import ID that differs from the ID in state
 * is a re-import).
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfig } from "../config";
import { TENANT_TEMPLATE_BRANCH } from "../manifests";

/** A repository this stack would create, found on GitHub. */
export interface ExistingRepository {
  /** `import` ID of the repository (its name). */
  readonly importId: string;
  /** Team grants found on it: team slug → `import` ID (`<team id>:<repository>`). */
  readonly teamGrants: ReadonlyMap<string, string>;
}

/** What exists of what this stack would create: repository name (lower case) → what was found. */
export type Existing = ReadonlyMap<string, ExistingRepository>;

/** Looks an existing repository up in `existing`, by GitHub's case-insensitive name. */
export function existingRepository(existing: Existing, name: string): ExistingRepository | undefined {
  return existing.get(name.toLowerCase());
}

/** One repository this stack would create: its name, the branch it must be on, and its config keys. */
interface Wanted {
  readonly name: string;
  readonly branch: string;
  /** Config key of the branch, for the error when the existing repository's default differs. */
  readonly branchKey: string;
  readonly visibility: string;
  readonly team?: { readonly slug: string; readonly configKey: string };
}

/** The repositories `config` makes this stack create. */
export function wantedRepositories(config: FleetConfig): Wanted[] {
  const { repository } = config;
  const wanted: Wanted[] = [];
  if (repository.create) {
    wanted.push({
      name: repository.name,
      branch: repository.branch,
      branchKey: "fleet:repository.branch",
      visibility: repository.visibility,
      ...(repository.team ? { team: { slug: repository.team, configKey: "fleet:repository.team" } } : {}),
    });
    wanted.push({
      name: repository.tenantTemplate,
      branch: TENANT_TEMPLATE_BRANCH,
      branchKey: `fleet:repository.tenantTemplate (a tenant template's branch is ${TENANT_TEMPLATE_BRANCH})`,
      visibility: repository.visibility,
    });
  }
  config.tenants.forEach((t, i) => {
    if (!t.repository.create) return;
    wanted.push({
      name: t.repository.name,
      branch: t.branch,
      branchKey: `fleet:tenants[${i}].branch (tenant ${t.name})`,
      visibility: repository.visibility,
      ...(t.team ? { team: { slug: t.team, configKey: `fleet:tenants[${i}].team (tenant ${t.name})` } } : {}),
    });
  });
  return wanted;
}

/** The invokes the lookup makes; tests and the real provider answer them alike. */
export interface GitHubLookups {
  getRepository(args: github.GetRepositoryArgs): Promise<github.GetRepositoryResult>;
  getTeam(args: github.GetTeamArgs): Promise<github.GetTeamResult>;
}

const PROVIDER: GitHubLookups = { getRepository: (a) => github.getRepository(a), getTeam: (a) => github.getTeam(a) };

/** An invoke's failure, as far as it says (under Pulumi's mocks its message is empty). */
function reason(e: unknown): string {
  return (e as Error)?.message || String(e);
}

/** Thrown when what exists cannot be adopted as it is: every problem, each naming its key and the fix. */
export class AdoptionError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Cannot adopt what already exists on GitHub (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was created:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "AdoptionError";
  }
}

/**
 * Looks up every repository this stack would create, and the team grants on those that exist.
 * A missing repository is an empty answer, not an error (terraform-provider-github v6.13.0,
 * data_source_github_repository.go: `d.SetId("")` on 404, every attribute empty). A repository the
 * token cannot see answers the same, so it is planned as a create, and `up` then gets 422: give
 * the token access to it. Fails, before any resource is registered, when an existing repository
 * cannot be adopted as configured (archived; default branch other than the configured one).
 */
export async function lookUpExisting(config: FleetConfig, lookups: GitHubLookups = PROVIDER): Promise<Existing> {
  const wanted = wantedRepositories(config);
  const problems: string[] = [];
  const teams = new Map<string, Promise<github.GetTeamResult>>();
  const teamOf = (slug: string) => {
    if (!teams.has(slug)) teams.set(slug, lookups.getTeam({ slug, summaryOnly: false }));
    return teams.get(slug)!;
  };
  const found = await Promise.all(
    wanted.map(async (w): Promise<[string, ExistingRepository] | undefined> => {
      const full = `${config.owner}/${w.name}`;
      let repo: github.GetRepositoryResult;
      try {
        repo = await lookups.getRepository({ fullName: full });
      } catch (e) {
        problems.push(`GitHub repository ${full} could not be looked up with GITHUB_TOKEN (${reason(e)}): check the token and github:owner`);
        return undefined;
      }
      if (!repo || typeof repo.name !== "string" || repo.name === "") return undefined;
      if (repo.archived) {
        problems.push(`GitHub repository ${full} exists and is archived, so no deploy key can be added to it: unarchive it on GitHub, or choose another repository name`);
      }
      if (repo.defaultBranch !== w.branch) {
        problems.push(
          `GitHub repository ${full} exists with default branch '${repo.defaultBranch}', not '${w.branch}' (${w.branchKey}): ` +
            `an adopted repository keeps its branch, so set the key to '${repo.defaultBranch}', or rename the branch on GitHub`,
        );
      }
      const grants = new Map<string, string>();
      if (w.team) {
        try {
          const team = await teamOf(w.team.slug);
          const granted = (team.repositoriesDetaileds ?? []).some((r) => r.repoName.toLowerCase() === repo.name.toLowerCase());
          if (granted) grants.set(w.team.slug, `${team.id}:${repo.name}`);
        } catch (e) {
          problems.push(
            `GitHub team ${w.team.slug} (${w.team.configKey}) was not found in ${config.owner}, or GITHUB_TOKEN cannot read the organisation's teams (Members: read): ` +
              `create it, fix the slug, or give the token that permission (${reason(e)})`,
          );
        }
      }
      if (repo.visibility && repo.visibility !== w.visibility) {
        pulumi.log.warn(`GitHub repository ${full} exists as ${repo.visibility}, not ${w.visibility} (fleet:repository.visibility): it is adopted as it is; change its visibility on GitHub if that is wrong`);
      }
      return [w.name.toLowerCase(), { importId: repo.name, teamGrants: grants }];
    }),
  );
  if (problems.length > 0) throw new AdoptionError(problems);
  return new Map(found.filter((f): f is [string, ExistingRepository] => f !== undefined));
}
