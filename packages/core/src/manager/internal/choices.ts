/**
 * `n` > 1: several choices for one request.
 *
 * Non-streamed: one routed call, which asks for all `n` where the client generates them
 * natively (OpenAI, Azure OpenAI); whenever fewer than `n` come back (a provider without `n`,
 * or an OpenAI-compatible server that ignores it) the rest are topped up with further calls to
 * the model that answered, and everything is merged: `choices[0..n-1]`, usage and cost summed,
 * every attempt listed.
 *
 * Streamed: `n` single-choice streams run concurrently; each chunk carries its `choiceIndex`,
 * each choice's last chunk its `finishReason`, and one closing chunk the summed usage and cost.
 */
import { Effect, Stream } from "effect"
import type { Choice, LLMRequest, StreamChunk, Usage } from "../../domain/Domain.ts"
import { makeUsage } from "../../domain/Domain.ts"
import { roundUsd } from "../../accounting/Pricing.ts"
import type { LLMError } from "../../domain/LLMError.ts"
import type { RoutedResponse } from "../../routing/ModelRouter.ts"

/** Upstream calls in flight at once while topping up or fanning out. */
const CONCURRENCY = 8

const choicesOf = (r: RoutedResponse): ReadonlyArray<Choice> =>
  r.choices ?? [{ content: r.content, finishReason: r.finishReason }]

export const generateChoices = (
  req: LLMRequest,
  n: number,
  /** The request's own routed call (it runs the request's plan). */
  routed: Effect.Effect<RoutedResponse, LLMError>,
  generate: (req: LLMRequest) => Effect.Effect<RoutedResponse, LLMError>
): Effect.Effect<RoutedResponse, LLMError> =>
  Effect.gen(function*() {
    const first = yield* routed
    const choices = choicesOf(first).slice(0, n)
    if (choices.length >= n) return { ...first, choices }
    // the same model for every choice: one answer's choices come from one model
    const again: LLMRequest = { ...req, model: first.ref, n: undefined }
    const more = yield* Effect.forEach(
      Array.from({ length: n - choices.length }, () => generate(again)),
      (e) => e,
      { concurrency: CONCURRENCY }
    )
    let prompt = first.usage.promptTokens
    let completion = first.usage.completionTokens
    let costUsd = first.costUsd
    let upstreamMs = first.upstreamMs
    const attempts = [...first.attempts]
    const all = [...choices]
    for (const r of more) {
      all.push(...choicesOf(r).slice(0, n - all.length))
      prompt += r.usage.promptTokens
      completion += r.usage.completionTokens
      costUsd = roundUsd(costUsd + r.costUsd)
      upstreamMs += r.upstreamMs
      attempts.push(...r.attempts)
    }
    return { ...first, choices: all, usage: makeUsage(prompt, completion), costUsd, upstreamMs, attempts }
  })

export const streamChoices = (
  req: LLMRequest,
  n: number,
  stream: (req: LLMRequest) => Stream.Stream<StreamChunk, LLMError>
): Stream.Stream<StreamChunk, LLMError> =>
  Stream.suspend(() => {
    const single: LLMRequest = { ...req, n: undefined }
    let prompt = 0
    let completion = 0
    let costUsd = 0
    let provider: string | undefined
    let model: string | undefined
    let finish0: StreamChunk["finishReason"]
    const tagged = Array.from({ length: n }, (_, choiceIndex) =>
      Stream.map(stream(single), (c): StreamChunk => {
        provider ??= c.provider
        model ??= c.model
        if (c.usage === undefined) return { ...c, choiceIndex }
        // each choice's usage is summed into the closing chunk instead
        prompt += c.usage.promptTokens
        completion += c.usage.completionTokens
        costUsd = roundUsd(costUsd + (c.costUsd ?? 0))
        if (choiceIndex === 0) finish0 = c.finishReason
        return { delta: c.delta, provider: c.provider, model: c.model, finishReason: c.finishReason, choiceIndex }
      }))
    const closing = Stream.sync((): StreamChunk => {
      const usage: Usage = makeUsage(prompt, completion)
      return { delta: "", provider, model, usage, costUsd, finishReason: finish0 ?? "unknown", choiceIndex: 0 }
    })
    return Stream.concat(Stream.mergeAll(tagged, { concurrency: Math.min(n, CONCURRENCY) }), closing)
  })
