/**
 * From a request to its route plan, once per request (notes/architecture.md "How a request
 * flows"): the manager asks for the plan, derives the cache key from it, and hands the same plan
 * back to run. Planning reads local state only (no I/O) and moves nothing; running a plan
 * `commit`s it: only then does round-robin advance, so a cache hit or a dry run (`gateway
 * models`) never shifts the order real requests take.
 *
 * A plan records the round-robin turns it peeked at (`turns`, only for groups with several
 * members). If another request took one of those turns between plan and run, `commit` orders
 * that request again with the turns it really got — the only case a request is planned twice.
 */
import type { GatewayConfig } from "../../config/ConfigSchema.ts"
import type { LLMRequest, ProviderRequest } from "../../domain/Domain.ts"
import { requestMessages } from "../../domain/Domain.ts"
import { ContextTooLarge, InvalidRequest, type LLMError, ModelUnavailable } from "../../domain/LLMError.ts"
import { estimatePromptTokens } from "../../accounting/Pricing.ts"
import { requestNeeds, unmetNeed, unsupported } from "./Capabilities.ts"
import type { Deployment, DeploymentTable, Group } from "./Deployments.ts"
import { computePlan, type RoutePlan } from "./Planner.ts"
import type { RouterState } from "./State.ts"

/** What the manager holds between `plan` and running it; `turns` is the router's own business. */
export interface CommittablePlan extends RoutePlan {
  /** @internal round-robin turns the plan peeked at: group key, position, … */
  readonly turns?: ReadonlyArray<string | number> | undefined
}

/** What a gateway with no chat model says: which settings add one. */
export const noChatModelMessage = "no chat model is configured: add a provider (set OPENAI_API_KEY, ANTHROPIC_API_KEY, " +
  "GEMINI_API_KEY, OLLAMA_BASE_URL, or LLM_LOCAL_MODEL_PATH=<a .gguf file>; or list `providers` in the config file " +
  "named by --config / LLM_GATEWAY_CONFIG), or leave LLM_EMBEDDED_DEFAULT unset to serve the embedded models/stories260K.gguf"

/** A model asked for the other kind of work: the caller's mistake, a 400 naming the model. */
export const wrongKind = (name: string, kind: string, use: string) =>
  new InvalidRequest({ model: name, param: "model", message: `"${name}" is ${kind}; use ${use} for it` })

export const unknownModel = (name: string) =>
  new ModelUnavailable({
    model: name,
    message: `unknown model "${name}": no configured provider lists it (GET /v1/models shows the models)`,
    status: 404,
    shouldRetry: false
  })

/** The request names a model (anything but `auto`): it is tried first whatever the strategy. */
export const isPinned = (model: string | undefined): model is string => model !== undefined && model !== "" && model !== "auto"

/** What the caller asked for, as the final error names it. */
export const requestedOf = (req: LLMRequest) =>
  isPinned(req.model) ? { model: req.model } : { model: "auto", task: req.taskType ?? "general" }

/** The provider-facing request for one deployment. */
export const providerRequest = (
  req: LLMRequest,
  messages: ProviderRequest["messages"],
  d: Deployment,
  fields?: Pick<ProviderRequest, "extra" | "n" | "maxTokensField">
): ProviderRequest => {
  const prefs = req.preferences
  const cap = d.entry.maxOutputTokens
  return {
    ...fields,
    model: d.model,
    messages,
    // a deployment's own output cap wins: a fallback to a smaller model must not 400 on it
    maxTokens: prefs?.maxTokens !== undefined && cap !== undefined ? Math.min(prefs.maxTokens, cap) : prefs?.maxTokens,
    temperature: prefs?.temperature,
    topP: prefs?.topP,
    stop: prefs?.stop,
    responseFormat: req.responseFormat,
    tools: req.tools,
    toolChoice: req.toolChoice,
    parallelToolCalls: req.parallelToolCalls,
    reasoning: req.reasoning
  }
}

const isError = (groups: ReadonlyArray<Group> | LLMError): groups is LLMError => !Array.isArray(groups)

export interface RequestPlanner {
  /** The plan of a request, or the error that stops it before any attempt; moves nothing. */
  readonly plan: (req: LLMRequest, now: number) => CommittablePlan | LLMError
  /** Plans and takes the round-robin turns at once (a request planned where it runs). */
  readonly planToRun: (req: LLMRequest, now: number) => RoutePlan | LLMError
  /** Takes the turns a plan peeked at; orders the request again only if one was taken meanwhile. */
  readonly commit: (req: LLMRequest, plan: CommittablePlan, now: number) => RoutePlan | LLMError
  /** Embedding models in configured order (the pinned one first). */
  readonly planGroups: (taskType: string, groups: ReadonlyArray<Group>, now: number, pinnedFirst: boolean) => RoutePlan
}

export const makeRequestPlanner = (
  config: GatewayConfig,
  table: DeploymentTable,
  state: RouterState,
  random: () => number
): RequestPlanner => {
  const latency = (ref: string) => state.latency(ref)
  const take = (key: string) => state.nextCounter(key)

  const groupsFor = (req: LLMRequest): ReadonlyArray<Group> | LLMError => {
    const groups = table.candidatesFor(req.taskType ?? "general")
    if (isPinned(req.model)) {
      const pinned = table.resolve(req.model)
      if (pinned === undefined) return unknownModel(req.model)
      if (pinned.members[0].embedding) return wrongKind(req.model, "an embedding model", "POST /v1/embeddings")
      return [pinned, ...groups.filter((g) => g.key !== pinned.key)]
    }
    // Not a ConfigurationError (HTTP 500, which SDKs retry): nothing can answer until the
    // operator adds a provider, so it is a 503 that says what to set and must not be retried.
    return groups.length > 0
      ? groups
      : new ModelUnavailable({ model: req.model ?? "auto", status: 503, shouldRetry: false, message: noChatModelMessage })
  }

  const prepare = (req: LLMRequest, now: number, counter: (key: string) => number): RoutePlan | LLMError => {
    const messages = requestMessages(req)
    if (messages.length === 0) return new InvalidRequest({ message: "the request has neither prompt nor messages" })
    const groups = groupsFor(req)
    if (isError(groups)) return groups
    // capability planning: a model the caller named that cannot take a part is the caller's
    // 400 (no fallback to a model they did not ask for); routed candidates are only left out
    const needs = requestNeeds(req)
    const unmet = needs.length === 0 ? undefined : (d: Deployment) => unmetNeed(d.entry.capabilities, needs)
    if (unmet !== undefined && isPinned(req.model)) {
      const refused = groups[0].members.map((d) => [d, unmet(d)] as const)
      if (refused.every(([, need]) => need !== undefined)) return unsupported(refused[0][1]!, refused[0][0].ref)
    }
    const promptTokens = estimatePromptTokens(messages)
    const plan = computePlan({
      unsupported: unmet,
      pinnedFirst: isPinned(req.model),
      taskType: req.taskType ?? "general",
      groups,
      strategy: req.preferences?.strategy ?? config.routing.strategy,
      loadBalancing: config.routing.loadBalancing,
      promptTokens,
      maxTokens: req.preferences?.maxTokens,
      latency,
      health: (ref) => state.health(ref, now),
      counter,
      random
    })
    if (plan.candidates.length > 0) return plan
    // nobody can take a part of it: a 400 naming the part, not a 503 or a window error
    const first = plan.excluded.find((e) => e.need !== undefined)
    if (first?.need !== undefined) return unsupported(first.need, first.ref)
    const windows = groups.flatMap((g) => g.members.map((m) => m.contextWindow ?? 0))
    return new ContextTooLarge({
      model: plan.excluded[0]?.ref ?? groups[0].key,
      tokenCount: promptTokens,
      contextWindow: Math.max(...windows),
      message: `the prompt (~${promptTokens} tokens) exceeds every candidate's context window`
    })
  }

  const plan: RequestPlanner["plan"] = (req, now) => {
    // the counter is only asked for groups with several members: most plans record nothing
    let turns: Array<string | number> | undefined
    const p = prepare(req, now, (key) => {
      const n = state.peekCounter(key)
      ;(turns ??= []).push(key, n)
      return n
    })
    return turns === undefined || !("candidates" in p) ? p : { ...p, turns }
  }

  const commit: RequestPlanner["commit"] = (req, p, now) => {
    const turns = p.turns
    if (turns === undefined) return p
    let moved = false
    const taken = new Map<string, number>()
    for (let i = 0; i < turns.length; i += 2) {
      const key = turns[i] as string
      const n = take(key)
      taken.set(key, n)
      if (n !== turns[i + 1]) moved = true
    }
    return moved ? prepare(req, now, (key) => taken.get(key) ?? state.peekCounter(key)) : p
  }

  const planGroups: RequestPlanner["planGroups"] = (taskType, groups, now, pinnedFirst) =>
    computePlan({
      pinnedFirst,
      taskType,
      groups,
      strategy: "performance",
      loadBalancing: config.routing.loadBalancing,
      promptTokens: 0,
      maxTokens: 0,
      latency,
      health: (ref) => state.health(ref, now),
      counter: take,
      random
    })

  return { plan, planToRun: (req, now) => prepare(req, now, take), commit, planGroups }
}
