/** Types of drift-issue.js, for the tests (test/workflows.spec.ts). */

export const LABEL: string;
export const BODY_LIMIT: number;

export function issueTitle(stack: string): string;

export function driftBody(args: { stack: string; diff: string; runUrl: string; sha: string; docsUrl: string; limit?: number }): string;

export function reportDrift(args: {
  github: any;
  context: any;
  core: any;
  stack: string;
  drift: string;
  diff?: string;
}): Promise<{ action: "opened" | "updated" | "closed" | "none"; numbers: number[]; changed?: boolean }>;

export function digest(text: string): string;
export function fence(text: string): string;
export function cut(text: string, room: number): string;
export function ensureLabel(github: any, repo: { owner: string; repo: string }, name?: string, description?: string, color?: string): Promise<void>;
