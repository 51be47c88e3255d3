/**
 * The field rule (RequestFields) applied to a plan: each candidate's client decides what it
 * does with the request's `extra` fields. Where the model was chosen by routing (`auto`, or the
 * fallbacks after a named model), a candidate that would refuse a field is left out when
 * another can honour it — a request for `logprobs` goes to a model that returns them rather
 * than failing. A model the caller named, or the last one standing, refuses with a 400.
 */
import type { LLMRequest, ProviderRequest } from "../../domain/Domain.ts"
import type { InvalidRequest } from "../../domain/LLMError.ts"
import type { ModelClientShape } from "../../providers/ModelClient.ts"
import { decideFields, type FieldDecision, refusal } from "../../providers/RequestFields.ts"
import type { Deployment } from "./Deployments.ts"

export interface Admitted {
  readonly candidates: ReadonlyArray<Deployment>
  /** By deployment ref; `undefined` when the request has no `extra` fields. */
  readonly decisions: ReadonlyMap<string, FieldDecision> | undefined
}

export const admitFields = (
  req: LLMRequest,
  candidates: ReadonlyArray<Deployment>,
  clientOf: (d: Deployment) => ModelClientShape | undefined,
  pinnedFirst: boolean
): Admitted | InvalidRequest => {
  if (req.extra === undefined || Object.keys(req.extra).length === 0) return { candidates, decisions: undefined }
  const decisions = new Map<string, FieldDecision>()
  const kept: Array<Deployment> = []
  let first: InvalidRequest | undefined
  for (let i = 0; i < candidates.length; i++) {
    const d = candidates[i]
    const decision = decideFields(clientOf(d)?.fields, req.extra)
    if (decision.refused !== undefined) {
      first ??= refusal(decision.refused, d.ref, d.providerType)
      if (pinnedFirst && i === 0) return first
      continue
    }
    decisions.set(d.ref, decision)
    kept.push(d)
  }
  return kept.length === 0 ? first! : { candidates: kept, decisions }
}

/** The provider-facing part of the rule: the fields to send and `n` when the client does it natively. */
export const fieldsFor = (
  req: LLMRequest,
  decision: FieldDecision | undefined,
  client: ModelClientShape | undefined
): Pick<ProviderRequest, "extra" | "n" | "maxTokensField"> => ({
  extra: decision?.send,
  n: req.n !== undefined && req.n > 1 && client?.fields?.nativeN === true ? req.n : undefined,
  maxTokensField: req.maxTokensField
})

/** Ignored field names for the answer, `undefined` when none (keeps responses unchanged). */
export const ignoredOf = (decision: FieldDecision | undefined): ReadonlyArray<string> | undefined =>
  decision !== undefined && decision.ignored.length > 0 ? decision.ignored : undefined
