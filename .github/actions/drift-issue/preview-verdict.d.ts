/** Types of preview-verdict.js, for the tests (test/workflows.spec.ts, test/real/fleet.spec.ts). */

export function previewVerdict(status: number, stdout: string, stderr: string): { drift: boolean; preview: "clean" | "changes" | "conflict" | "failed" };
