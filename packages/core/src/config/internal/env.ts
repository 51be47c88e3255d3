/**
 * Reading the environment through Effect's `ConfigProvider` (never `process.env` directly), so
 * tests and embedders inject env with `ConfigProvider.fromEnv({ env })` or `fromUnknown`.
 * The result is a snapshot of the variables the gateway knows, plus the `LLM_<TASK>_MODEL_<N>`
 * family, which has to be discovered by walking the provider's keys.
 */
import { Config, ConfigProvider, Effect, Option, SchemaIssue } from "effect"
import { ConfigurationError } from "../../domain/LLMError.ts"

/**
 * Every fixed variable name the gateway itself reads (documented in notes/configuration.md);
 * each provider definition declares its own (`env` in `ProviderSpec`).
 */
export const envNames = [
  "LLM_GATEWAY_CONFIG",
  "LLM_ENABLED",
  "LLM_PROVIDER",
  "LLM_API_KEY",
  "LLM_MODEL",
  "LLM_BASE_URL",
  "LLM_ROUTING_STRATEGY",
  "LLM_MAX_RETRIES",
  "LLM_TIMEOUT_MS",
  "LLM_ATTEMPT_TIMEOUT_MS",
  "LLM_CACHE_ENABLED",
  "LLM_CACHE_TTL_SECONDS",
  "LLM_CACHE_TTL",
  "LLM_CACHE_SIZE",
  "LLM_RPM",
  "LLM_TPM",
  "REDIS_URL",
  "LLM_CONVERSATIONS_STORE",
  "LLM_CONVERSATIONS_PATH",
  "DATABASE_URL",
  "LLM_GATEWAY_HOST",
  "LLM_GATEWAY_PORT",
  "LLM_GATEWAY_API_KEYS"
] as const
export type EnvName = typeof envNames[number]

/** One `LLM_<TASK>_MODEL_<N>` variable. */
export interface TaskVar {
  readonly name: string
  /** `ui-generation` for `LLM_UI_GENERATION_MODEL_1`. */
  readonly task: string
  readonly index: number
  readonly value: string
}

export interface EnvSnapshot {
  /** A gateway variable (`EnvName`) or one a provider definition declares. */
  readonly get: (name: string) => string | undefined
  /** Sorted by task, then numerically by N. */
  readonly taskVars: ReadonlyArray<TaskVar>
}

const schemaMessage = (error: Config.ConfigError): string => {
  const cause = error.cause
  if ("issue" in cause) {
    const issues = SchemaIssue.makeFormatterStandardSchemaV1()(cause.issue).issues
    return issues.map((i) => i.message).join("; ")
  }
  return cause.message
}

/** One variable as a string (an empty value counts as unset), failing with the variable's name. */
export const readVar = (provider: ConfigProvider.ConfigProvider, name: string) =>
  Config.option(Config.String(name)).parse(provider).pipe(
    Effect.map(Option.getOrUndefined),
    Effect.mapError((e) => new ConfigurationError({ path: name, message: `cannot read: ${schemaMessage(e)}` }))
  )

const taskVarPattern = /^LLM_(.+)_MODEL_(\d+)$/
const maxDepth = 12
/** Bounds the walk over an env array node (`LLM_SQL_MODEL_1000000` must not loop a million times). */
const maxIndex = 100

/**
 * Names of every variable under the `LLM` prefix. With `fromEnv` the provider exposes a trie
 * split on `_`; with `fromUnknown({ LLM_SQL_MODEL_1: … })` the keys are whole names. Joining
 * the path with `_` gives the variable name in both cases.
 */
const llmVarNames = (provider: ConfigProvider.ConfigProvider) => {
  const names = new Set<string>()
  const walk = (path: ReadonlyArray<string | number>): Effect.Effect<void, ConfigProvider.SourceError> =>
    Effect.gen(function*() {
      if (path.length > maxDepth) return
      const node = yield* provider.load(path)
      if (node === undefined) return
      if (node._tag === "Value" || node.value !== undefined) names.add(path.join("_"))
      if (node._tag === "Record") {
        for (const key of node.keys) yield* walk([...path, key])
      } else if (node._tag === "Array") {
        for (let i = 0; i < Math.min(node.length, maxIndex); i++) yield* walk([...path, i])
      }
    })
  return Effect.gen(function*() {
    const root = yield* provider.load([])
    if (root?._tag === "Record") {
      for (const key of root.keys) {
        if (key === "LLM" || key.startsWith("LLM_")) yield* walk([key])
      }
    }
    return names
  }).pipe(
    Effect.mapError((e) => new ConfigurationError({ message: `cannot list environment variables: ${e.message}` }))
  )
}

/** `UI_GENERATION` → `ui-generation`. */
export const taskFromEnv = (segment: string): string => segment.toLowerCase().replaceAll("_", "-")
/** `ui-generation` → `UI_GENERATION`. */
export const taskToEnv = (task: string): string => task.toUpperCase().replaceAll("-", "_")

/** Reads every known variable (the gateway's, plus `extraNames` of the provider definitions) from the current `ConfigProvider` (or the one given). */
export const readEnv = Effect.fnUntraced(function*(
  given?: ConfigProvider.ConfigProvider,
  extraNames: ReadonlyArray<string> = []
) {
  const provider = given ?? (yield* ConfigProvider.ConfigProvider)
  const values = new Map<string, string>()
  for (const name of new Set<string>([...envNames, ...extraNames])) {
    const value = yield* readVar(provider, name)
    if (value !== undefined) values.set(name, value)
  }
  const taskVars: Array<TaskVar> = []
  for (const name of yield* llmVarNames(provider)) {
    const match = taskVarPattern.exec(name)
    if (match === null) continue
    const value = yield* readVar(provider, name)
    if (value === undefined || value.trim() === "") continue
    taskVars.push({ name, task: taskFromEnv(match[1]), index: Number(match[2]), value: value.trim() })
  }
  taskVars.sort((a, b) => a.task < b.task ? -1 : a.task > b.task ? 1 : a.index - b.index)
  const snapshot: EnvSnapshot = { get: (name) => values.get(name), taskVars }
  return snapshot
})
