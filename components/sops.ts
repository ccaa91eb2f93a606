/**
 * Tenant secrets: each tenant's SOPS age key for this stack's environment (`fleet:tenants[].secrets`).
 *
 * One key per tenant, environment and generation, the same in every stack of the environment: the
 * clusters of an environment apply the same `flux/<environment>` path, so each must decrypt the
 * same files. It is derived from the environment's seed (the secret `fleet:sopsSeed`, the same
 * value in each of the environment's stacks) with HKDF-SHA256, the tenant, the environment and the
 * generation as its info; the 32 bytes are the X25519 secret, as age-keygen's 32 random bytes are.
 * Node's crypto makes the public half; the `bech32` package writes both in age's encoding
 * (C2SP age spec: `AGE-SECRET-KEY-1…` upper case, `age1…`). test/sops.spec.ts checks the pair
 * with age's own implementation (typage), and the real tier with sops and kustomize-controller.
 *
 * The seed, and every identity made from it, is only ever handed on as a Pulumi secret.
 * docs/tenancy.md, "Secrets", weighs this against one key per cluster.
 */
import { createPrivateKey, createPublicKey, hkdfSync } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { bech32 } from "bech32";
import { decodeSeed } from "./config";

/** An age key pair: what the cluster decrypts with, and what the tenant encrypts to. */
export interface AgeKey {
  /** `AGE-SECRET-KEY-1…`: secret. */
  readonly identity: string;
  /** `age1…`: public. */
  readonly recipient: string;
}

/** bech32's own 90-character limit is for addresses; age's strings are checked by their own rules. */
const BECH32_LIMIT = 1023;
/** What the derivation is, in its HKDF info: a change of scheme must be a new label, never a silent change of keys. */
const LABEL = "fleet sops age identity v1";

/** PKCS#8 of an X25519 private key up to its 32 bytes: version 0, id-X25519 (1.3.101.110), an OCTET STRING of 32. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The age pair of a 32-byte X25519 secret. */
export function ageKeyOf(secret: Buffer): AgeKey {
  if (secret.length !== 32) throw new Error(`an age identity is 32 bytes, not ${secret.length}`);
  // A JWK import needs the public half already; PKCS#8 takes the secret alone (RFC 8410, section 7).
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
  const x = createPublicKey(key).export({ format: "jwk" }).x;
  if (typeof x !== "string") throw new Error("Node's crypto returned no X25519 public key");
  return {
    identity: bech32.encode("AGE-SECRET-KEY-", bech32.toWords(secret), BECH32_LIMIT).toUpperCase(),
    recipient: bech32.encode("age", bech32.toWords(Buffer.from(x, "base64url")), BECH32_LIMIT),
  };
}

/** The 32-byte secret of a tenant's key in an environment, at a generation. */
function derive(seed: Buffer, environment: string, tenant: string, generation: number): Buffer {
  // NUL-separated: no two (environment, tenant, generation) give the same info (DNS labels hold no NUL).
  const info = [LABEL, environment, tenant, String(generation)].join("\0");
  return Buffer.from(hkdfSync("sha256", seed, Buffer.alloc(0), info, 32));
}

/** The tenants' keys of one environment, from its seed. */
export class SopsKeys {
  private readonly seed: Buffer;

  constructor(
    seed: string,
    /** The stack's environment (`fleet:environment`). */
    readonly environment: string,
  ) {
    const bytes = decodeSeed(seed);
    if (!bytes) throw new Error("fleet:sopsSeed: must be at least 32 random bytes, base64-encoded");
    this.seed = bytes;
  }

  /** A tenant's key at a generation: the recipient, public (what its `.sops.yaml` names), and the identity as a Pulumi secret. */
  key(tenant: string, generation: number): { readonly recipient: string; readonly identity: pulumi.Output<string> } {
    const { recipient, identity } = ageKeyOf(derive(this.seed, this.environment, tenant, generation));
    return { recipient, identity: pulumi.secret(identity) };
  }
}
