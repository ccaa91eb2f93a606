/**
 * Test helpers over the offline evaluator in `scripts/lib/evaluate.ts`: run the program for a stack
 * under Pulumi's mocks and look at what it registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { RunResult, Registered } from "../scripts/lib/evaluate";

export * from "../scripts/lib/evaluate";

/** Whether a stack output is a secret (kept as a secret in state and CLI output). */
export async function isSecretOutput(value: unknown): Promise<boolean> {
  return pulumi.Output.isInstance(value) ? pulumi.isSecret(value as pulumi.Output<unknown>) : false;
}

/** The single resource of `type` named `name`; fails with the list of what exists. */
export function one(result: RunResult, type: string, name?: string): Registered {
  const found = result.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1) {
    const names = result.resources.filter((r) => r.type === type).map((r) => r.name);
    throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length} (have: ${names.join(", ") || "none"})`);
  }
  return found[0];
}

/** The URN part of a provider reference (`<urn>::<id>`). */
export function providerUrn(reference: string): string {
  const i = reference.lastIndexOf("::");
  return i < 0 ? reference : reference.slice(0, i);
}

/** The run, once it is known to have succeeded: fails with the program's error otherwise. */
export function ok(result: RunResult): RunResult {
  if (result.error) throw new Error(`the program failed: ${result.error.message}`);
  return result;
}
