/**
 * The LLM side of the MAPE-K self-healing loop (notes/ops.md), on the gateway's `LLMManager` (task
 * `analysis`): analyse a metrics snapshot, pick a healing action, explain an anomaly, predict
 * the next ones. Every answer is a Schema-typed `generateObject` result; when the model cannot
 * give one (off, down, off-schema after the repair) threshold rules answer instead, marked
 * `source: "rules"`.
 *
 * The healing decision's `action` is a literal union of the caller's `availableActions` in the
 * Schema itself: the model's structured-output mode (or llama.cpp's grammar) cannot produce
 * another, and a decode would reject one — an action outside the list can never be returned.
 */
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { Context, Effect, Layer, Schema } from "effect"
import * as Rules from "./internal/analystRules.ts"

export const TASK = "analysis"

const Level = Schema.Literals(["low", "medium", "high"])
const Unit = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

export const Analysis = Schema.Struct({
  summary: Schema.String,
  anomalies: Schema.Array(Schema.Struct({ metric: Schema.String, value: Schema.Finite, expected: Schema.String, severity: Level })),
  recommendations: Schema.Array(Schema.String),
  healthScore: Unit
})
export type Analysis = typeof Analysis.Type

/** The decision's Schema for these actions: `action` can only be one of them. */
export const healingDecisionSchema = (actions: readonly [string, ...Array<string>]) =>
  Schema.Struct({
    action: Schema.Literals(actions),
    target: Schema.String,
    parameters: Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Finite, Schema.Boolean])),
    riskLevel: Level,
    confidence: Unit,
    reasoning: Schema.String
  })
export interface HealingDecision {
  readonly action: string
  readonly target: string
  readonly parameters: Readonly<Record<string, string | number | boolean>>
  readonly riskLevel: Rules.Level
  readonly confidence: number
  readonly reasoning: string
}

const Predictions = Schema.Struct({
  predictions: Schema.Array(Schema.Struct({ metric: Schema.String, horizon: Schema.String, likelihood: Unit, reasoning: Schema.String }))
})

export type Source = "llm" | "rules"
export interface Sourced {
  readonly source: Source
  /** `provider/model`, or `rules`. */
  readonly model: string
}

export type Metrics = Readonly<Record<string, number>>
export type OpsContext = Readonly<Record<string, unknown>>

export interface SystemAnalystShape {
  readonly analyzeSystemState: (metrics: Metrics, context?: OpsContext) => Effect.Effect<Analysis & Sourced>
  readonly generateHealingDecision: (
    anomaly: unknown,
    context: OpsContext | undefined,
    availableActions: readonly [string, ...Array<string>]
  ) => Effect.Effect<HealingDecision & Sourced>
  readonly explainAnomaly: (anomaly: unknown, context?: OpsContext) => Effect.Effect<{ readonly explanation: string } & Sourced>
  readonly predictAnomalies: (history: ReadonlyArray<Metrics>) => Effect.Effect<typeof Predictions.Type & Sourced>
}

export interface SystemAnalystOptions {
  readonly llmEnabled: boolean
  /** A `provider/model` to ask instead of the task's route. */
  readonly model?: string | undefined
}

const SYSTEM = "You are the analysis step of a self-healing system (MAPE-K). Be concrete and brief. Answer with JSON only."
const RULES: Sourced = { source: "rules", model: "rules" }
const text = (u: unknown) => (typeof u === "string" ? u : JSON.stringify(u))

export const make = (options: SystemAnalystOptions) =>
  Effect.gen(function*() {
    const manager = yield* LLMManager
    const request = (prompt: string, maxTokens = 600) => ({
      messages: [{ role: "system" as const, content: SYSTEM }, { role: "user" as const, content: prompt }],
      taskType: TASK,
      model: options.model,
      preferences: { temperature: 0, maxTokens },
      cache: false as const
    })
    /** The model's typed answer, or the rules' when there is no usable one. */
    const ask = <A, I, R extends object>(prompt: string, schema: Schema.Codec<A, I>, rules: () => R) =>
      options.llmEnabled
        ? manager.generateObject(request(prompt), schema).pipe(
          Effect.map(({ object, response }) => ({ ...object, source: "llm" as const, model: `${response.provider}/${response.model}` })),
          Effect.catch(() => Effect.succeed({ ...rules(), ...RULES }))
        )
        : Effect.succeed({ ...rules(), ...RULES })

    const analyzeSystemState = Effect.fn("SystemAnalyst.analyzeSystemState")(function*(metrics: Metrics, context?: OpsContext) {
      return yield* ask(
        `Analyse this system state. Metrics: ${JSON.stringify(metrics)}. Context: ${JSON.stringify(context ?? {})}. ` +
          "Give a summary, the anomalous metrics (metric, value, expected range, severity low|medium|high), " +
          "recommendations, and a healthScore from 0 (down) to 1 (healthy).",
        Analysis,
        () => Rules.analyze(metrics)
      ) as Effect.Effect<Analysis & Sourced>
    })

    const generateHealingDecision = Effect.fn("SystemAnalyst.generateHealingDecision")(
      function*(anomaly: unknown, context: OpsContext | undefined, availableActions: readonly [string, ...Array<string>]) {
        const rules = () => {
          const action = Rules.safestAction(availableActions)
          return {
            action,
            target: typeof context?.target === "string" ? context.target : "system",
            parameters: {},
            riskLevel: Rules.riskOf(action),
            confidence: 0.5,
            reasoning: `no model decision available: ${action} is the lowest-risk of the available actions`
          }
        }
        return yield* ask(
          `Anomaly: ${text(anomaly)}. Context: ${JSON.stringify(context ?? {})}. ` +
            `Choose exactly one action from ${JSON.stringify(availableActions)}, its target, parameters, ` +
            "riskLevel (low|medium|high), confidence 0..1 and a one-sentence reasoning. Prefer the least risky action that fixes it.",
          healingDecisionSchema(availableActions),
          rules
        ) as Effect.Effect<HealingDecision & Sourced>
      }
    )

    const explainAnomaly = Effect.fn("SystemAnalyst.explainAnomaly")(function*(anomaly: unknown, context?: OpsContext) {
      const rules = () => {
        const a = anomaly as Partial<Rules.Anomaly>
        return {
          explanation: typeof a === "object" && a !== null && a.metric !== undefined
            ? `${a.metric} is ${a.value ?? "out of range"}, expected ${a.expected ?? "lower"}: ${
              a.severity === "high" ? "act now" : "watch it"
            }.`
            : `Anomaly reported: ${text(anomaly)}.`
        }
      }
      return yield* ask(
        `Explain this anomaly in plain language for an on-call engineer (what it means, likely causes, what to check): ` +
          `${text(anomaly)}. Context: ${JSON.stringify(context ?? {})}. Answer as {"explanation": "..."}.`,
        Schema.Struct({ explanation: Schema.String }),
        rules
      ) as Effect.Effect<{ readonly explanation: string } & Sourced>
    })

    const predictAnomalies = Effect.fn("SystemAnalyst.predictAnomalies")(function*(history: ReadonlyArray<Metrics>) {
      return yield* ask(
        `Metric samples, oldest first: ${JSON.stringify(history.slice(-50))}. Predict which metrics will become anomalous, ` +
          "with a horizon (e.g. '10 minutes'), likelihood 0..1 and reasoning.",
        Predictions,
        () => ({ predictions: Rules.predict(history) })
      ) as Effect.Effect<typeof Predictions.Type & Sourced>
    })

    return SystemAnalyst.of({ analyzeSystemState, generateHealingDecision, explainAnomaly, predictAnomalies })
  })

export class SystemAnalyst extends Context.Service<SystemAnalyst, SystemAnalystShape>()("@llm-gateway/ops/SystemAnalyst") {
  static readonly layer = (options: SystemAnalystOptions): Layer.Layer<SystemAnalyst, never, LLMManager> =>
    Layer.effect(this, make(options))
}
