/**
 * The GitHub room: everything the program does on GitHub, and the one REST client.
 *
 * client.ts         fetchGitHub, the one REST client (the dynamic providers and scripts/ use it):
 *                   write pacing, rate-limit retries, timeouts; failure, and diffOf for the providers
 * repository.ts     a repository's resources (repositoryResources: a tenant holds them itself) and the Repository
 *                   component (the fleet's): create (or generate from the template) or look up, deploy key, team, files
 * template.ts       the tenant template repository
 * adopt.ts          create or adopt: what this stack would create, looked up before anything is registered
 * scaffold-file.ts  ScaffoldFile dynamic resource: a file written once, when absent (contents API)
 * branch-exists.ts  BranchExists dynamic resource: waits for a generated repository's branch
 * bootstrap.ts      BootstrapKeyRevocation dynamic resource: revokes `flux bootstrap`'s deploy key
 * write-budget.ts   GitHub's hourly content-write limit, checked in the preview
 * unseen-repositories.ts  the repositories GITHUB_TOKEN cannot see (for scripts/refresh-guard.ts)
 *
 * No file outside this folder calls GitHub's REST API: what needs it imports client.ts. This
 * room may import config/, constants.ts, manifests/ (pure builders), perf.ts and @pulumi/*; never
 * the composing components (flux.ts, tenant.ts, policy.ts) nor cluster/. They import this room
 * through this file. eslint.config.mjs holds these lines (import-x/no-restricted-paths, no-cycle).
 */
export * from "./adopt";
export * from "./bootstrap";
export * from "./branch-exists";
export * from "./repository";
export * from "./scaffold-file";
export * from "./template";
export * from "./write-budget";
