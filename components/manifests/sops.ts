/**
 * Tenant secrets: the Secret that holds a tenant's SOPS age identities in its first namespace, and
 * the `.sops.yaml` its repository gets. The keys come from components/sops.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { RepoFile, cleanPath, metadata } from "./common";

/** The name of a tenant's key Secret: its Kustomization's `decryption.secretRef`, and nothing else's. */
export function sopsSecretName(tenant: string): string {
  return `${tenant}-sops`;
}

/**
 * The Secret's entry for one generation. kustomize-controller v1.9.4 reads every entry whose name
 * ends in `.agekey` as age identities (internal/decryptor/decryptor.go, `DecryptionAgeExt`), so each
 * trusted generation is one entry and all of them decrypt.
 */
export function sopsKeyEntry(generation: number): string {
  return `gen${generation}.agekey`;
}

/** One tenant's key Secret: an `.agekey` entry per trusted generation. */
export function sopsKeySecret(args: {
  readonly tenant: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly identities: readonly { readonly generation: number; readonly identity: pulumi.Input<string> }[];
}) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: metadata(sopsSecretName(args.tenant), args.namespace, args.labels),
    type: "Opaque",
    stringData: Object.fromEntries(args.identities.map((k) => [sopsKeyEntry(k.generation), k.identity])),
  };
}

/** A Kustomization's `spec.decryption` with a tenant's key. */
export function sopsDecryption(tenant: string) {
  return { provider: "sops", secretRef: { name: sopsSecretName(tenant) } };
}

/**
 * `<path>/.sops.yaml`: encrypts the `data` and `stringData` of a Secret (what Flux's SOPS guide
 * does, so the rest stays readable in review) to the environment's recipient. sops finds it from
 * the directory it runs in upwards (getsops/sops v3.13.3 config/config.go, `LookupConfigFile`),
 * so a tenant runs sops in `<path>`. source-controller leaves every `.sops.yaml` out of the artifact
 * (fluxcd/pkg/sourceignore v0.18.0 `ExcludeExtra`, source-controller v1.9.4), so Flux never
 * builds it.
 */
export function sopsConfigFile(path: string, environment: string, recipient: string): RepoFile {
  const rules = { creation_rules: [{ encrypted_regex: "^(data|stringData)$", age: recipient }] };
  return {
    path: `${cleanPath(path)}/.sops.yaml`,
    content:
      `# SOPS rules for ${environment}: run sops in this directory (sops -e -i my-secret.yaml). The recipient is\n` +
      `# the ${environment} clusters' key for this tenant. Add your own recipients after a comma to edit files\n` +
      `# yourself. Written once by the fleet; on a key rotation, replace the recipient and run sops updatekeys.\n` +
      stringify(rules, { lineWidth: 0 }),
  };
}
