/**
 * `POST /v1/instances/{id}/approvals/{block_id}` (SPEC §2.4). The approval block is being built beside
 * the console; until its route is in /openapi.json this one call goes through the same client with
 * its path spelled out (same auth, same error envelope). When the route lands, drop the cast.
 */
import { api, unwrap } from "./client";

export type Decision = { decision: "approved" | "rejected"; by?: string; comment?: string };

export function decideApproval(instance: string, block: string, body: Decision) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const post = api.POST as unknown as (path: string, init: unknown) => Promise<{ data?: { data: unknown }; error?: unknown; response: Response }>;
  return unwrap(post("/v1/instances/{instance_id}/approvals/{block_id}", { params: { path: { instance_id: instance, block_id: block } }, body }));
}
