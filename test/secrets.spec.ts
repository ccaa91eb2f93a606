import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { isSecretOutput, runProgram, stackConfig } from "./harness";
import { outputPromise } from "../components/perf";

/** Every Output leaf of a stack's exports, with its path. */
function outputLeaves(value: unknown, at = ""): { at: string; output: pulumi.Output<unknown> }[] {
  if (pulumi.Output.isInstance(value)) return [{ at, output: value as pulumi.Output<unknown> }];
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => outputLeaves(v, at ? `${at}.${k}` : k));
  }
  return [];
}

describe("Secrets stay secret", () => {
  it("a deploy key's private half is a secret output of the Repository component", async () => {
    const { Repository } = await import("../components/github/repository");
    const result = await runProgram({
      stack: "staging",
      config: {},
      program: async () => {
        const repo = new Repository("r", { owner: "acme-org", name: "x", create: true, branch: "main", stack: "staging", createKey: "fleet:repository.create" });
        return { privateKey: repo.key?.privateKey, publicKey: repo.key?.publicKey };
      },
    });
    assert.equal(result.error, undefined, result.error?.message);
    assert.ok(await isSecretOutput(result.exported?.privateKey), "privateKey must be a Pulumi secret");
    assert.equal(await isSecretOutput(result.exported?.publicKey), false, "the public half need not be");
  });

  for (const stack of ["staging", "production"]) {
    it(`${stack}: no stack output carries a private key or kubeconfig in plain text`, async () => {
      const result = await runProgram({ stack, config: stackConfig(stack) });
      const leaves = outputLeaves(result.exported);
      assert.ok(leaves.length > 5);
      for (const { at, output } of leaves) {
        if (await isSecretOutput(output)) continue;
        const value = JSON.stringify(await outputPromise(output as pulumi.Output<unknown>));
        assert.doesNotMatch(value, /PRIVATE KEY|kind: Config|client-key-data/, `stack output ${at} is plain text but holds secret material`);
      }
      assert.ok(await isSecretOutput(result.exported?.kubeconfig));
    });
  }
});
