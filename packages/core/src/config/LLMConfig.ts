/**
 * The gateway's one validated configuration: the YAML file (with `${VAR}` interpolation), the
 * env variables of seeds 000-004, and defaults, decoded into `GatewayConfig`.
 *
 * Precedence: an explicit input object > the YAML file > provider-specific env
 * (`OPENAI_API_KEY`) > the generic BYOK env (`LLM_API_KEY`) > defaults. Env is read through
 * Effect's `ConfigProvider`, so tests inject it (`ConfigProvider.fromEnv({ env })`).
 * Every problem is a `ConfigurationError` whose `path` names the config path
 * (`providers[1].type`), the env variable or the file position to fix.
 * Variables: notes/configuration.md.
 */
import { readFile } from "node:fs/promises"
import { dirname, resolve } from "node:path"
import { ConfigProvider, Context, Effect, Layer, Predicate, Redacted } from "effect"
import type { GatewayConfig, GatewayConfigEncoded } from "./ConfigSchema.ts"
import type { ProviderSpec } from "./ProviderSpec.ts"
import { ConfigurationError } from "../domain/LLMError.ts"
import { type EnvSnapshot, readEnv, readVar } from "./internal/env.ts"
import { fromEnv, providerEnvNames } from "./internal/fromEnv.ts"
import { isRecord, toConfigurationError } from "./internal/issues.ts"
import { merge, unwrapRedacted } from "./internal/merge.ts"
import { validate } from "./internal/validate.ts"
import { interpolate, parseYaml } from "./internal/yaml.ts"

export { describeConfig, type DescribeOptions, maskSecret } from "./internal/describe.ts"
export { type ModelsView, resolveBareModel, type ResolvedModel } from "./internal/resolve.ts"
export { normalizeBaseUrl } from "./internal/urls.ts"

// String literal unions (`type`, `strategy`, `store`) widen to `string`: a config object
// literal typechecks without `as const`, and the Schema validation names a bad value at run time.
type DeepPartial<T> = T extends Redacted.Redacted<any> ? T
  : T extends string ? string
  : T extends ReadonlyArray<infer A> ? ReadonlyArray<DeepPartial<A>>
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T

/**
 * A config in the YAML file's shape, every section optional (`makeLLMManager(config)`).
 * Secrets may be plain strings (with `${VAR}` references) or `Redacted`.
 */
export type GatewayConfigInput = DeepPartial<GatewayConfigEncoded> | DeepPartial<GatewayConfig>

export interface LoadConfigOptions {
  /** A YAML file. Without `file` and `input`, `LLM_GATEWAY_CONFIG` names one (optional). */
  readonly file?: string | undefined
  /** A config object in the file's shape; wins over the file. */
  readonly input?: GatewayConfigInput | undefined
  /** The environment: a record or a `ConfigProvider`. Default: the current `ConfigProvider` (process env). */
  readonly env?: Record<string, string | undefined> | ConfigProvider.ConfigProvider | undefined
  /**
   * Fold the env variables (OPENAI_API_KEY, REDIS_URL, …) into the config (default true). With
   * false, env is only read for `${VAR}` references: the config is exactly the file/input.
   */
  readonly mergeEnv?: boolean | undefined
  /**
   * The provider definitions the config knows (`defineProvider`; `llm-gateway` passes its
   * built-ins plus plug-ins): their `type`s are accepted in `providers[].type`, env variables
   * read, and entries get the definition's catalog rows, base URL, family and checks. Without
   * them a built-in type name is accepted but nothing is known about it.
   */
  readonly providers?: ReadonlyArray<ProviderSpec> | undefined
}

const noEnv: EnvSnapshot = { get: () => undefined, taskVars: [] }

const isConfigProvider = (u: unknown): u is ConfigProvider.ConfigProvider =>
  Predicate.hasProperty(u, "load") && typeof u.load === "function"

const readConfigFile = (path: string) =>
  Effect.tryPromise({
    try: (signal) => readFile(path, { encoding: "utf8", signal }),
    catch: (cause) => {
      const code = Predicate.hasProperty(cause, "code") ? String(cause.code) : undefined
      return new ConfigurationError({
        path,
        message: code === "ENOENT" ? "config file not found" : `cannot read config file (${code ?? String(cause)})`
      })
    }
  })

const configProviderOf = Effect.fnUntraced(function*(env: LoadConfigOptions["env"]) {
  if (env === undefined) return yield* ConfigProvider.ConfigProvider
  return isConfigProvider(env) ? env : ConfigProvider.fromEnvRecord(env)
})

/** One `plugins` entry as written: the module, its config path (`plugins[0]`), and the directory a relative path starts from. */
export interface PluginRef {
  readonly module: string
  readonly path: string
  readonly baseDir: string
}

/**
 * The `plugins` list `loadConfig` would see (the input's over the file's), read before
 * validation: the definitions they export decide which `type`s validate. Only this list is
 * interpolated here; entries that are not strings are left for validation to report.
 */
export const readPluginRefs = Effect.fn("LLMConfig.readPluginRefs")(
  function*(options: Pick<LoadConfigOptions, "file" | "input" | "env"> = {}): Effect.fn.Return<ReadonlyArray<PluginRef>, ConfigurationError> {
    const provider = yield* configProviderOf(options.env)
    const lookup = (name: string) => readVar(provider, name)
    const listOf = (u: unknown): unknown => (isRecord(u) ? u.plugins : undefined)
    let list: unknown = undefined
    let baseDir = process.cwd()
    if (options.input !== undefined) list = listOf(options.input)
    const file = options.file ?? (options.input === undefined ? yield* lookup("LLM_GATEWAY_CONFIG") : undefined)
    if (list === undefined && file !== undefined && file !== "") {
      list = listOf(yield* parseYaml(yield* readConfigFile(file), file))
      baseDir = dirname(resolve(file))
    }
    if (!Array.isArray(list)) return []
    const { value } = yield* interpolate(unwrapRedacted(list), lookup)
    return (value as ReadonlyArray<unknown>).flatMap((module, i) =>
      typeof module === "string" && module !== "" ? [{ module, path: `plugins[${i}]`, baseDir }] : []
    )
  }
)

/** Loads, merges and validates the configuration. */
export const loadConfig = Effect.fn("LLMConfig.loadConfig")(
  function*(options: LoadConfigOptions = {}): Effect.fn.Return<GatewayConfig, ConfigurationError> {
    const provider = yield* configProviderOf(options.env)
    const specs = options.providers ?? []
    const snapshot = options.mergeEnv === false ? noEnv : yield* readEnv(provider, providerEnvNames(specs))
    const env = fromEnv(snapshot, specs)
    if (env.issues.length > 0) return yield* toConfigurationError(env.issues)

    const lookup = (name: string) => readVar(provider, name)
    const layers: Array<Record<string, unknown>> = []
    const whole = new Set<string>()
    const file = options.file ?? (options.input === undefined ? snapshot.get("LLM_GATEWAY_CONFIG") : undefined)
    if (file !== undefined) {
      const parsed = yield* parseYaml(yield* readConfigFile(file), file)
      const interpolated = yield* interpolate(parsed, lookup)
      interpolated.wholeReferences.forEach((p) => whole.add(p))
      layers.push(interpolated.value as Record<string, unknown>)
    }
    if (options.input !== undefined) {
      if (!isRecord(options.input)) {
        return yield* new ConfigurationError({ message: "config input must be an object in the config file's shape" })
      }
      const interpolated = yield* interpolate(unwrapRedacted(options.input), lookup)
      interpolated.wholeReferences.forEach((p) => whole.add(p))
      layers.push(interpolated.value as Record<string, unknown>)
    }
    return yield* validate(merge(env, layers, specs), env, whole, specs)
  }
)

/** The validated gateway configuration (`GatewayConfig`). */
export class LLMConfig extends Context.Service<LLMConfig, GatewayConfig>()("@llm-gateway/core/LLMConfig") {
  /** Env, plus the YAML file named by `LLM_GATEWAY_CONFIG` when set; `providers`: the known definitions. */
  static readonly layer = (providers: ReadonlyArray<ProviderSpec> = []): Layer.Layer<LLMConfig, ConfigurationError> =>
    Layer.effect(LLMConfig, loadConfig({ providers }))
  /** A YAML file (`--config FILE`), plus env. */
  static readonly layerFile = (path: string, providers: ReadonlyArray<ProviderSpec> = []): Layer.Layer<LLMConfig, ConfigurationError> =>
    Layer.effect(LLMConfig, loadConfig({ file: path, providers }))
  /**
   * A config object in the file's shape (`makeLLMManager(config)`) with defaults filled in. It is
   * taken as is: env only answers its `${VAR}` references (an explicit config stays hermetic on a
   * machine that exports REDIS_URL or OPENAI_API_KEY). `loadConfig({ input })` also folds env in.
   */
  static readonly layerFrom = (
    input: GatewayConfigInput,
    options: { readonly providers?: ReadonlyArray<ProviderSpec> | undefined } = {}
  ): Layer.Layer<LLMConfig, ConfigurationError> =>
    Layer.effect(LLMConfig, loadConfig({ input, mergeEnv: false, providers: options.providers }))
  /** An already validated config, as is. */
  static readonly layerTest = (config: GatewayConfig): Layer.Layer<LLMConfig> => Layer.succeed(LLMConfig, config)
}
