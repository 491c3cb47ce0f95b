import * as z from "zod";

/**
 * Per-rung approval requests (mode approve on the state machine). Each destructive rung pauses the
 * target's path on a Step Functions task token; the RequestApproval Lambda keeps the token with the
 * incident (`approval#<incidentId>` in the incident table) so `runbook approve <incident>` can answer it
 * with the approver's own IAM credentials. Pure: choosing the request to answer, shaping the answer.
 */

export const approvalRequestSchema = z.object({
  target: z.string().min(1),
  /** 0-based rung of the plan's ladder (people see rung + 1). */
  rung: z.number().int().nonnegative(),
  /** `rung N: action: description`. */
  summary: z.string(),
  taskToken: z.string().min(1),
  requestedAt: z.string(),
  /** When the state machine stops waiting (the request's task timeout): no answer = declined. */
  expiresAt: z.string(),
});
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

/** The task output `runbook approve` sends with SendTaskSuccess (ApplyMitigation reads it). */
export interface ApprovalAnswer {
  readonly approved: true;
  readonly rung: number;
  /** The caller's ARN from STS GetCallerIdentity, with the credentials that sent the answer. */
  readonly approvedBy: string;
  readonly note: string | null;
}

/** The error name a decline fails the task with (the state machine's Catch routes it to Declined). */
export const DECLINED_ERROR = "Declined";

export type Selection =
  | { readonly ok: true; readonly request: ApprovalRequest }
  | { readonly ok: false; readonly message: string };

/**
 * The request to answer: filtered by target and rung (1-based, as people see it). Without a rung, each
 * target's latest request (the one its path is waiting on: earlier rungs were answered before the next
 * was asked). Several targets waiting and none named → say which to name.
 */
export function selectRequest(
  incidentId: string,
  requests: readonly ApprovalRequest[],
  by: { readonly target?: string; readonly rung?: number },
): Selection {
  if (!requests.length) return { ok: false, message: `incident ${incidentId} has no approval request` };
  const forTarget = by.target ? requests.filter((r) => r.target === by.target) : requests;
  if (!forTarget.length)
    return {
      ok: false,
      message: `incident ${incidentId} has no approval request for target ${by.target} (requests: ${describe(requests)})`,
    };
  const latest = new Map<string, ApprovalRequest>();
  for (const r of forTarget) {
    if (by.rung !== undefined && r.rung !== by.rung - 1) continue;
    const prev = latest.get(r.target);
    if (!prev || r.rung > prev.rung || (r.rung === prev.rung && r.requestedAt >= prev.requestedAt))
      latest.set(r.target, r);
  }
  const found = [...latest.values()];
  if (!found.length)
    return {
      ok: false,
      message: `incident ${incidentId} has no approval request for rung ${by.rung} (requests: ${describe(forTarget)})`,
    };
  if (found.length > 1)
    return {
      ok: false,
      message: `incident ${incidentId} waits on several targets: name one with --target (${describe(found)})`,
    };
  return { ok: true, request: found[0] as ApprovalRequest };
}

const describe = (rs: readonly ApprovalRequest[]) =>
  rs.map((r) => `${r.target} rung ${r.rung + 1}`).join(", ");
