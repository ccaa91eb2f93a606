/**
 * The GitHub room: everything the program does on GitHub, and the one REST client.
 *
 * repository.ts     Repository component: create (or generate from the template) or look up, deploy key, team, files
 * template.ts       the tenant template repository
 * adopt.ts          create or adopt: what this stack would create, looked up before anything is registered
 * scaffold-file.ts  ScaffoldFile and BranchExists dynamic resources, and the REST client fetchGitHub
 * bootstrap.ts      BootstrapKeyRevocation dynamic resource: revokes `flux bootstrap`'s deploy key
 * write-budget.ts   GitHub's hourly content-write limit, checked in the preview
 *
 * May import: config/, constants.ts, manifests/ (pure builders), perf.ts, and @pulumi/*. Never the
 * composing components (flux.ts, tenant.ts, policy.ts) nor cluster/; they import this room,
 * through this file.
 */
export * from "./adopt";
export * from "./bootstrap";
export * from "./repository";
export * from "./scaffold-file";
export * from "./template";
export * from "./write-budget";
