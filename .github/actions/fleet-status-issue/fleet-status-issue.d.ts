/** Types of fleet-status-issue.js, for the tests (test/workflows.spec.ts). */

export const LABEL: string;
export const TITLE: string;

export function statusBody(args: { text: string; unhealthy: boolean; runUrl: string; sha: string; docsUrl: string; limit?: number }): string;

export function reportStatus(args: { github: any; context: any; core: any; text: string; unhealthy: string }): Promise<{ action: "opened" | "updated"; number: number; commented: boolean }>;
