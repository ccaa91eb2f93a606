/**
 * Pure builders: what each Kubernetes object and repository file looks like. No Pulumi resources
 * here; components wire these into resources. Values that come from other resources (keys) are
 * passed in as `pulumi.Input`s and placed as they are. Files are typed objects serialised by the
 * `yaml` library, so output is byte-stable across runs.
 *
 * common.ts  metadata, namespaces, SSH secrets and URLs, files    flux.ts  operator values, FluxInstance, fleet scaffold
 * tenant.ts  tenant namespaces, accounts, RBAC, sync, isolation, quota, template layout
 * policy.ts  the tenant admission policy pack: policies, bindings, per-tenant parameters
 * sops.ts    tenant secrets: the key Secret, the Kustomization's decryption, the repository's .sops.yaml
 *
 * May import: constants.ts, the two leaves of config/ (types.ts, defaults.ts) and plain libraries
 * (yaml). From @pulumi/* only types (`import type`, for `pulumi.Input`): nothing here runs the
 * SDK. Never github/, cluster/ or the composing components, which import these builders.
 * eslint.config.mjs holds these lines.
 */
export * from "./common";
export * from "./flux";
export * from "./tenant";
export * from "./policy";
export * from "./sops";
