/** Every answer, cached or not, is one usage row per provider, model, task and scope. */
import type { Effect } from "effect"
import type { UsageAccounting } from "../../accounting/UsageAccounting.ts"
import type { LLMRequest, Usage } from "../../domain/Domain.ts"
import { DEFAULT_TASK } from "./tasks.ts"

export type Recorder = (
  req: LLMRequest,
  scope: string,
  r: { provider: string; model: string; usage: Usage; costUsd: number; cached: boolean }
) => Effect.Effect<void>

export const makeRecorder = (accounting: UsageAccounting["Service"]): Recorder => (req, scope, r) =>
  accounting.record({
    provider: r.provider,
    model: r.model,
    task: req.taskType ?? DEFAULT_TASK,
    scope,
    promptTokens: r.usage.promptTokens,
    completionTokens: r.usage.completionTokens,
    costUsd: r.costUsd,
    cached: r.cached
  })
