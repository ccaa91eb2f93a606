/**
 * A GitHub repository Flux reads from: created when this stack owns it, looked up otherwise;
 * a read-only deploy key for this cluster; and scaffold files written once. Used for the fleet
 * repository and for every tenant's deployment repository.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ExistingRepository } from "./adopt";
import { KeyAlgorithm, Visibility } from "../config";
import { RepoFile } from "../manifests";
import { branchAppears } from "./branch-exists";
import { GitHubRequest } from "./client";
import { ScaffoldFile } from "./scaffold-file";

export interface RepositoryArgs extends CreateRepositoryArgs {
  /** true: create and own the repository; false: it must exist already. */
  readonly create: boolean;
  /** The stack (one cluster): the deploy key is titled `flux-<stack>`. */
  readonly stack: string;
  /** Deploy key algorithm. @default ed25519 */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** A writable deploy key, on this repository only (image automation pushes). @default false */
  readonly readWrite?: boolean;
  /** Deploy key generation: a new generation is a new key, created before the old one goes. @default 1 */
  readonly keyGeneration?: number;
  /** false: no deploy key for this cluster (the fleet sync authenticates as a GitHub App). @default true */
  readonly deployKey?: boolean;
  /**
   * A GitHub team granted a permission on the repository, when this stack creates it. `retain`
   * keeps the grant on GitHub when it leaves the program (an offboarded tenant's kept repository).
   */
  readonly team?: { readonly slug: string; readonly permission: "push" | "maintain"; readonly configKey: string; readonly retain?: boolean };
  /** The config key that makes this stack create the repository, for error messages. */
  readonly createKey: string;
  /** Files committed once to `branch` when absent; later edits, moves and deletions stand. */
  readonly files?: readonly RepoFile[];
  /** Paths a repository generated from `template` starts with: their scaffold files find them there and write nothing. */
  readonly templateFiles?: ReadonlySet<string>;
}

/** `tls.PrivateKey` arguments per algorithm; never the provider's P-224 ECDSA default. */
export function privateKeyArgs(algorithm: KeyAlgorithm): tls.PrivateKeyArgs {
  switch (algorithm) {
    case "ecdsa-p256":
      return { algorithm: "ECDSA", ecdsaCurve: "P256" };
    case "ecdsa-p384":
      return { algorithm: "ECDSA", ecdsaCurve: "P384" };
    default:
      return { algorithm: "ED25519" };
  }
}

/** Deploy key title: one key per cluster, named for its stack. */
export function deployKeyTitle(stack: string): string {
  return `flux-${stack}`;
}

/** Pulumi name of a deploy key (pair) of generation `generation`; generation 1 keeps the plain name. */
export function deployKeyName(component: string, generation: number): string {
  return generation === 1 ? `${component}-deploy-key` : `${component}-deploy-key-gen${generation}`;
}

/**
 * Looks a repository up, failing loudly. The GitHub provider answers a missing repository with an
 * empty result, not an error (terraform-provider-github v6.13.0, data_source_github_repository.go:
 * `d.SetId("")` on 404), so an empty or mismatched answer is an error here, before anything
 * else is attempted on the repository.
 */
export async function lookUpRepository(parent: pulumi.Resource, owner: string, name: string, createKey: string) {
  const full = `${owner}/${name}`;
  const fix = `run the stack that owns it (${createKey}: true) first, or set ${createKey}: true in this stack`;
  let found: github.GetRepositoryResult;
  try {
    found = await github.getRepository({ fullName: full }, { parent });
  } catch (e) {
    throw new pulumi.ResourceError(`GitHub repository ${full} could not be read with GITHUB_TOKEN (${(e as Error).message}): ${fix}`, parent);
  }
  if (!found || typeof found.name !== "string" || found.name === "" || typeof found.fullName !== "string") {
    throw new pulumi.ResourceError(
      `GitHub repository ${full} does not exist, or GITHUB_TOKEN cannot see it (owner ${owner}, repository ${name}): ${fix}`,
      parent,
    );
  }
  if (found.fullName.toLowerCase() !== full.toLowerCase()) {
    throw new pulumi.ResourceError(`GitHub answered the lookup of ${full} with ${found.fullName}: check github:owner and the repository name`, parent);
  }
  return found;
}

/**
 * Grants a team a permission on a repository this stack created. The team is looked up first, so
 * a missing team fails with its slug and the config key (the provider's getTeam rejects on 404).
 */
function grantTeam(
  at: Placement,
  name: string,
  owner: string,
  team: NonNullable<RepositoryArgs["team"]>,
  repository: github.Repository,
  importId: string | undefined,
): github.TeamRepository {
  const found = pulumi.output(
    github.getTeam({ slug: team.slug, summaryOnly: true }, { parent: at.parent }).catch((e: Error) => {
      throw new pulumi.ResourceError(
        `GitHub team ${team.slug} (${team.configKey}) was not found in ${owner}, or GITHUB_TOKEN cannot read the organisation's teams (Members: read): create it, fix the slug, or give the token that permission (${e.message})`,
        at.parent,
      );
    }),
  );
  return new github.TeamRepository(
    `${name}-team`,
    { teamId: found.id, repository: repository.name, permission: team.permission },
    // A grant that exists is imported (components/github/adopt.ts); its permission is then set as configured.
    { ...optsFor(at, `${name}-team`), ...(importId ? { import: importId } : {}), ...(team.retain ? { retainOnDelete: true } : {}) },
  );
}

/** What creating a repository needs; `RepositoryArgs` and the tenant template share it. */
export interface CreateRepositoryArgs {
  /** GitHub organisation or user (`github:owner`). */
  readonly owner: string;
  /** Repository name. */
  readonly name: string;
  /** One-line description when created. */
  readonly description?: string;
  /** Visibility when created. @default private */
  readonly visibility?: Visibility;
  /** Branch Flux reads and scaffold files are committed to. */
  readonly branch: string;
  /**
   * Generate from this template repository (one request copies its layout) instead of autoInit,
   * once `after` exist (the template's files: generation copies what is there).
   */
  readonly template?: { readonly owner: string; readonly name: pulumi.Input<string>; readonly branch: string; readonly after?: readonly pulumi.Resource[] };
  /** Mark the repository as a template. @default false */
  readonly isTemplate?: boolean;
  /** GitHub client for scaffold files; tests inject a fake. @default `fetch` with GITHUB_TOKEN */
  readonly githubRequest?: GitHubRequest;
  /** The repository as found on GitHub, when it exists already: it is imported, not created (components/github/adopt.ts). */
  readonly existing?: ExistingRepository;
}

/**
 * Inputs a repository that exists keeps as it is: this program sets them only when it creates one.
 * Without this, importing a hand-made repository would be followed by an update to this program's
 * values (and to the provider's defaults for what it leaves unset: merge settings), and `template`
 * and `autoInit`, which only creation reads, would show as changes. Ignored on every repository
 * that exists, this stack's own included, so a visibility change in config never flips a live
 * repository (adopt.ts warns about the difference instead).
 */
export const CREATION_ONLY: readonly string[] = [
  // What this program sets when it creates a repository.
  "description", "visibility", "hasIssues", "deleteBranchOnMerge", "template", "autoInit",
  // What it leaves to the provider's defaults (TF `Default:`), which would be set on every update.
  "allowAutoMerge", "allowMergeCommit", "allowRebaseMerge", "allowSquashMerge",
  "mergeCommitMessage", "mergeCommitTitle", "squashMergeCommitMessage", "squashMergeCommitTitle",
  // What the import reads and the program leaves unset, which the diff would clear: the real tier
  // (test/real/fleet.spec.ts, 5c) showed `update [diff: -hasDownloads,hasProjects,hasWiki]` after
  // importing a hand-made repository, before these were listed.
  "hasDiscussions", "hasDownloads", "hasProjects", "hasWiki", "homepageUrl", "allowUpdateBranch",
  "gitignoreTemplate", "licenseTemplate", "pages", "topics",
];

/**
 * Creates a repository and makes `branch` its default branch. Destroy leaves the repository in
 * place and unarchived (`retainOnDelete`): the provider would archive it (`archiveOnDestroy`), and
 * GitHub then refuses every other stack's deploy-key deletion, which the provider reports as
 * success (`handleArchivedRepoDelete`, util_repo.go), so those keys would stay valid.
 */
export function createRepository(at: Placement, name: string, args: CreateRepositoryArgs) {
  const repository = new github.Repository(
    name,
    {
      name: args.name,
      description: args.description,
      visibility: args.visibility ?? "private",
      ...(args.template
        ? { template: { owner: args.template.owner, repository: args.template.name } }
        : { autoInit: true }),
      ...(args.isTemplate ? { isTemplate: true } : {}),
      hasIssues: true,
      deleteBranchOnMerge: true,
    },
    // The order through dependsOn, not through the template's name: a name that waits on new
    // template files would be unknown in the preview, and `template` is a creation-only input.
    {
      ...optsFor(at, name),
      retainOnDelete: true,
      ...(args.template?.after ? { dependsOn: [...args.template.after] } : {}),
      ...(args.existing ? { import: args.existing.importId, ignoreChanges: [...CREATION_ONLY] } : {}),
    },
  );
  // GitHub fills a generated repository in asynchronously and the provider does not wait
  // (resource_github_repository.go, Create): the default branch takes the repository's name once
  // the template's branch is there (branchAppears: a wait in the program, not a resource). A
  // repository that exists was not generated here: it is on the configured branch (adopt.ts
  // checked), which the wait then finds at once.
  const waited = args.template
    ? branchAppears(repository.name, { owner: args.owner, branch: args.existing ? args.branch : args.template.branch }, args.githubRequest)
    : repository.name;
  // autoInit commits to the owner's default branch for new repositories, which need not be
  // `main`: rename whatever it is to the configured branch and wait until GitHub reports the
  // rename (it is eventually consistent). A branch already named right is only read.
  const branch = new github.BranchDefault(
    `${name}-default-branch`,
    { repository: waited, branch: args.branch, rename: true, waitForRename: true },
    { ...optsFor(at, `${name}-default-branch`), dependsOn: [repository] },
  );
  return { repository, branchReady: [branch] as pulumi.Resource[] };
}

/** Commits `files` once each, when absent, one after another: GitHub answers 409 to parallel commits on a branch. */
export function commitFiles(
  at: Placement,
  name: string,
  args: {
    readonly owner: string;
    readonly repository: pulumi.Input<string>;
    readonly branch: string;
    readonly stack: string;
    readonly files: readonly RepoFile[];
    readonly replaceInitialReadme: boolean;
    readonly after: pulumi.Resource[];
    readonly githubRequest?: GitHubRequest;
  },
): ScaffoldFile[] {
  const committed: ScaffoldFile[] = [];
  let previous = args.after;
  for (const file of args.files) {
    // `/` cannot occur in `name` (a tenant name is a DNS label), so no two (name, path) pairs share a name.
    const child = `${name}/${file.path}`;
    const next: ScaffoldFile = new ScaffoldFile(
      child,
      {
        owner: args.owner,
        repository: args.repository,
        branch: args.branch,
        path: file.path,
        content: file.content,
        message: `fleet (${args.stack}): scaffold ${file.path}`,
        // Every other file is only written when absent, and never again once it exists.
        replaceInitial: args.replaceInitialReadme && file.path === "README.md",
      },
      { ...optsFor(at, child), dependsOn: previous },
      args.githubRequest,
    );
    committed.push(next);
    previous = [next];
  }
  return committed;
}

/** A cluster's deploy key on a repository, and the key pair behind it. */
export interface DeployKeyPair {
  /** OpenSSH private key: a secret. */
  readonly privateKey: pulumi.Output<string>;
  readonly publicKey: pulumi.Output<string>;
  /** SHA256 fingerprint. */
  readonly fingerprint: pulumi.Output<string>;
  readonly deployKey: github.RepositoryDeployKey;
}

/** What a repository's resources give their consumer: a `Repository` component, or a tenant that holds them itself. */
export interface RepositoryParts {
  /** The repository name, resolved after the lookup or creation succeeded. */
  readonly repositoryName: pulumi.Output<string>;
  readonly htmlUrl: pulumi.Output<string>;
  /** This cluster's deploy key, unless `deployKey: false`. */
  readonly key?: DeployKeyPair;
  /** The repository resource, when this stack owns it. */
  readonly repository?: github.Repository;
  /** The team grant, when this stack owns the repository and a team is configured. */
  readonly team?: github.TeamRepository;
  /** `<team slug> (<permission>)` once granted, or "" when this stack grants none. */
  readonly teamAccess: pulumi.Output<string>;
  /** Scaffold files in commit order. */
  readonly files: readonly ScaffoldFile[];
  /** What a consumer (Flux) must wait for: the deploy key, if any, and the last scaffold commit. */
  readonly ready: pulumi.Resource[];
  /**
   * GitHub content writes its creation makes at most (components/github/write-budget.ts): the repository
   * and each file, and apart from them this key generation's deploy key, which a rotation makes anew.
   */
  readonly contentWrites: { readonly repository: number; readonly key: number };
}

/**
 * Where a repository's resources are registered: under `parent`, and, for a child that was
 * somewhere else in state before, that former place as aliases (`formerly(child name)`), so
 * the engine moves it instead of replacing it.
 */
export interface Placement {
  readonly parent: pulumi.Resource;
  readonly formerly?: (child: string) => pulumi.Alias[];
}

function optsFor(at: Placement, child: string): pulumi.CustomResourceOptions {
  return { parent: at.parent, ...(at.formerly ? { aliases: at.formerly(child) } : {}) };
}

/**
 * A repository's resources: created (or generated from the template, or imported) when this
 * stack owns it, looked up otherwise; this cluster's deploy key; the team grant; the scaffold
 * files. Registered under `at.parent`, every child named after `name`.
 */
export function repositoryResources(at: Placement, name: string, args: RepositoryArgs): RepositoryParts {
  let branchReady: pulumi.Resource[] = [];
  let teamAccess: pulumi.Output<string> = pulumi.output("");
  let repository: github.Repository | undefined;
  let team: github.TeamRepository | undefined;
  let repositoryName: pulumi.Output<string>;
  let htmlUrl: pulumi.Output<string>;

  if (args.create) {
    const created = createRepository(at, name, args);
    repository = created.repository;
    branchReady = created.branchReady;
    repositoryName = repository.name;
    htmlUrl = repository.htmlUrl;
    const grant = args.team;
    if (grant) {
      team = grantTeam(at, name, args.owner, grant, repository, args.existing?.teamGrants.get(grant.slug));
      teamAccess = team.id.apply(() => `${grant.slug} (${grant.permission})`);
    }
  } else {
    const found = pulumi.output(lookUpRepository(at.parent, args.owner, args.name, args.createKey));
    repositoryName = found.name;
    htmlUrl = found.htmlUrl;
  }

  // A new generation is a new resource name: Pulumi creates the new key pair and deploy key,
  // updates the cluster Secret that uses them, and deletes the old ones only at the end of the
  // update (resources gone from the program are deleted last), so Flux never loses access.
  let key: DeployKeyPair | undefined;
  if (args.deployKey ?? true) {
    const keyName = deployKeyName(name, args.keyGeneration ?? 1);
    const pair = new tls.PrivateKey(keyName, privateKeyArgs(args.keyAlgorithm ?? "ed25519"), optsFor(at, keyName));
    key = {
      privateKey: pulumi.secret(pair.privateKeyOpenssh),
      publicKey: pair.publicKeyOpenssh,
      fingerprint: pair.publicKeyFingerprintSha256,
      deployKey: new github.RepositoryDeployKey(
        keyName,
        { repository: repositoryName, title: deployKeyTitle(args.stack), key: pair.publicKeyOpenssh, readOnly: !(args.readWrite ?? false) },
        { ...optsFor(at, keyName), dependsOn: branchReady },
      ),
    };
  }

  const files = commitFiles(at, name, {
    owner: args.owner,
    repository: repositoryName,
    branch: args.branch,
    stack: args.stack,
    files: args.files ?? [],
    // autoInit wrote a README.md: replace that first one (a generated repository has the
    // template's; an adopted one keeps whatever it has).
    replaceInitialReadme: args.create && args.template === undefined && args.existing === undefined,
    after: branchReady,
    ...(args.githubRequest ? { githubRequest: args.githubRequest } : {}),
  });
  // A file a generated repository starts with is found there, not written. The count is of
  // creation, and stays the same once the repository exists (it is exported, and compared).
  const generated = args.create && args.template !== undefined ? (args.templateFiles ?? new Set<string>()) : new Set<string>();
  const writes = (args.files ?? []).filter((f) => !generated.has(f.path)).length;
  return {
    repositoryName,
    htmlUrl,
    ...(key ? { key } : {}),
    ...(repository ? { repository } : {}),
    ...(team ? { team } : {}),
    teamAccess,
    files,
    ready: [...(key ? [key.deployKey] : []), ...files.slice(-1)],
    contentWrites: { repository: (args.create ? 1 : 0) + writes, key: key ? 1 : 0 },
  };
}

/** A repository and its resources as a component of their own: the fleet repository. A tenant holds its repository's resources itself (tenant.ts). */
// The class takes its fields from RepositoryParts (declaration merging), and its constructor sets them all at once.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface Repository extends RepositoryParts {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Repository extends pulumi.ComponentResource {
  constructor(name: string, args: RepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:repository:Repository", name, {}, opts);
    Object.assign(this, repositoryResources({ parent: this }, name, args));
    this.registerOutputs({ repositoryName: this.repositoryName, ...(this.key ? { fingerprint: this.key.fingerprint } : {}) });
  }
}
