/**
 * Pass-through inside the router: for a candidate whose client serves the request's API natively
 * (providers/Passthrough), the attempt calls the client's `passthrough` member instead of its
 * `generate` / `stream`; every other candidate gets the translated request. The executor, the
 * stream opener, breakers, limits, retries and fallback see an ordinary client, so nothing else
 * in the router knows the difference.
 */
import { Effect } from "effect"
import type { ProviderRequest } from "../../domain/Domain.ts"
import { TimeoutError } from "../../domain/LLMError.ts"
import type { ModelClientShape } from "../../providers/ModelClient.ts"
import { type PassthroughRequest, servesNatively } from "../../providers/Passthrough.ts"
import type { Deployment } from "./Deployments.ts"

/** The client an attempt on `d` calls: the pass-through face when `d` serves the API natively. */
export const attemptClient = (
  client: ModelClientShape,
  d: Deployment,
  passthrough: PassthroughRequest | undefined
): ModelClientShape => {
  const native = client.passthrough
  if (passthrough === undefined || native === undefined) return client
  if (!servesNatively(d.providerType, passthrough.api) || !native.apis.includes(passthrough.api)) return client
  const call = { ...passthrough, model: d.model, answerModel: d.ref }
  return {
    ...client,
    // the request is the client's own, not a translation: no field policy applies
    fields: undefined,
    // the router's `timeoutMs` is honoured here when the client times its own calls
    generate: (req: ProviderRequest) =>
      req.timeoutMs === undefined
        ? native.generate(call)
        : Effect.timeoutOrElse(native.generate(call), {
          duration: req.timeoutMs,
          orElse: () => Effect.fail(new TimeoutError({ model: d.ref, timeoutMs: req.timeoutMs! }))
        }),
    stream: () => native.stream(call)
  }
}

/** Whether any candidate would answer natively (such answers are not cached: the cache keeps translated ones). */
export const answersNatively = (
  candidates: ReadonlyArray<{ readonly providerType: string }>,
  passthrough: PassthroughRequest | undefined
): boolean => passthrough !== undefined && candidates.some((c) => servesNatively(c.providerType, passthrough.api))
