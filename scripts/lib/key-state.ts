/**
 * A `tls.PrivateKey`'s state rebuilt from the OpenSSH private key a cluster Secret holds
 * (`identity`). terraform-provider-tls cannot import a `tls_private_key` (its maintainers say so in
 * hashicorp/terraform-provider-tls#283; the importer of #133 was never merged), so a lost state
 * gets its keys back only by writing them (pulumi/pulumi-tls#48 says the same), and every output
 * must be what the provider would have written: the program reads `privateKeyOpenssh`,
 * `publicKeyOpenssh` and `publicKeyFingerprintSha256`, and the rest stays in state.
 *
 * The encodings are terraform-provider-tls's (resource_private_key.go Create, common_key.go
 * setPublicKeyAttributes; the rig's double, rig/go/providers/internal/tlsdouble, renders them the
 * same way): the private key as PEM in its algorithm's own form (PKCS#8 for ED25519, SEC 1 for
 * ECDSA) and as PKCS#8; the public key as PKIX PEM and as an authorized_keys line with its newline,
 * with its legacy MD5 and its SHA256 fingerprints; the ID the hex SHA-1 of the public key's DER,
 * whitespace-trimmed (hashForState). OpenSSH parsing is sshpk's; the DER is Node's (OpenSSL).
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject } from "crypto";
import * as sshpk from "sshpk";

/** What the state holds of a key: its ID and every computed output. */
export interface KeyState {
  readonly id: string;
  readonly outputs: {
    readonly privateKeyPem: string;
    readonly privateKeyPemPkcs8: string;
    readonly privateKeyOpenssh: string;
    readonly publicKeyPem: string;
    readonly publicKeyOpenssh: string;
    readonly publicKeyFingerprintMd5: string;
    readonly publicKeyFingerprintSha256: string;
  };
  /** The algorithm inputs the key has: `algorithm`, and `ecdsaCurve` for ECDSA. */
  readonly algorithm: { readonly algorithm: "ED25519" | "ECDSA"; readonly ecdsaCurve?: "P256" | "P384" | "P521" };
}

const b64url = (b: Buffer) => b.toString("base64url");

const CURVES: Readonly<Record<string, { jwk: string; tls: "P256" | "P384" | "P521"; bytes: number }>> = {
  nistp256: { jwk: "P-256", tls: "P256", bytes: 32 },
  nistp384: { jwk: "P-384", tls: "P384", bytes: 48 },
  nistp521: { jwk: "P-521", tls: "P521", bytes: 66 },
};

/** A big-endian integer of sshpk's (which may carry a sign byte) at exactly `bytes` bytes. */
function fixed(b: Buffer, bytes: number): Buffer {
  const trimmed = b.subarray(Math.max(0, b.length - bytes));
  return Buffer.concat([Buffer.alloc(bytes - trimmed.length), trimmed]);
}

function nodeKey(key: sshpk.PrivateKey): { key: KeyObject; algorithm: KeyState["algorithm"] } {
  const part = key.part as unknown as Record<string, { data: Buffer }>;
  if (key.type === "ed25519") {
    return { key: createPrivateKey({ format: "jwk", key: { kty: "OKP", crv: "Ed25519", d: b64url(part.k.data), x: b64url(part.A.data) } }), algorithm: { algorithm: "ED25519" } };
  }
  const curve = key.type === "ecdsa" && key.curve ? CURVES[key.curve] : undefined;
  if (!curve) throw new Error(`a ${key.type}${key.type === "ecdsa" ? ` ${key.curve}` : ""} key: the program makes ED25519 and ECDSA P-256/P-384 keys only`);
  const q = part.Q.data; // 0x04 || X || Y
  if (q[0] !== 4 || q.length !== 1 + 2 * curve.bytes) throw new Error("an ECDSA public point that is not uncompressed");
  return {
    key: createPrivateKey({
      format: "jwk",
      key: { kty: "EC", crv: curve.jwk, d: b64url(fixed(part.d.data, curve.bytes)), x: b64url(q.subarray(1, 1 + curve.bytes)), y: b64url(q.subarray(1 + curve.bytes)) },
    }),
    algorithm: { algorithm: "ECDSA", ecdsaCurve: curve.tls },
  };
}

/** Go's strings.TrimSpace over DER bytes: only ASCII whitespace can sit at a DER's ends (it starts with 0x30). */
function trimAsciiSpace(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20].includes(b[end - 1])) end--;
  return b.subarray(0, end);
}

/** The state of the `tls.PrivateKey` whose `privateKeyOpenssh` is `openssh`. */
export function keyState(openssh: string): KeyState {
  let parsed: sshpk.PrivateKey;
  try {
    parsed = sshpk.parsePrivateKey(openssh, "ssh");
  } catch (e) {
    throw new Error(`not an unencrypted OpenSSH private key: ${(e as Error).message}`, { cause: e });
  }
  const { key, algorithm } = nodeKey(parsed);
  const pub = createPublicKey(key);
  const der = pub.export({ type: "spki", format: "der" });
  const wire = parsed.toPublic().toBuffer("rfc4253", {});
  const type = wire.subarray(4, 4 + wire.readUInt32BE(0)).toString();
  const md5 = createHash("md5").update(wire).digest("hex").match(/../g)!.join(":");
  return {
    id: createHash("sha1").update(trimAsciiSpace(der)).digest("hex"),
    outputs: {
      privateKeyPem: key.export({ type: algorithm.algorithm === "ECDSA" ? "sec1" : "pkcs8", format: "pem" }) as string,
      privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }) as string,
      privateKeyOpenssh: openssh,
      publicKeyPem: pub.export({ type: "spki", format: "pem" }) as string,
      publicKeyOpenssh: `${type} ${wire.toString("base64")}\n`,
      publicKeyFingerprintMd5: md5,
      publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")}`,
    },
    algorithm,
  };
}
