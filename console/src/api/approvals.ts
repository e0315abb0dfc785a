/** `POST /v1/instances/{id}/approvals/{block_id}` (SPEC §2.4): decides an approval block of a run. */
import type { components } from "./schema";
import { api, unwrap } from "./client";

export type Decision = components["schemas"]["DecisionBody"];

export function decideApproval(instance: string, block: string, body: Decision) {
  return unwrap(api.POST("/v1/instances/{instance_id}/approvals/{block_id}", {
    params: { path: { instance_id: instance, block_id: block } }, body,
  }));
}
