/**
 * The config's `plugins`: modules that export provider definitions, loaded before the config is
 * validated so entries of their `type` validate and run like built-in ones. A relative path is
 * resolved from the config file's directory, a package name from the working directory's
 * `node_modules` (where the user installed it, not where llm-gateway happens to live).
 */
import { readFileSync } from "node:fs"
import { createRequire, findPackageJSON } from "node:module"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { type LoadConfigOptions, type PluginRef, readPluginRefs } from "@llm-gateway/core/config/LLMConfig"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { ProviderDefinition } from "@llm-gateway/core/providers/ProviderDefinition"
import { Effect, Predicate } from "effect"

/** The slice of `GatewayOptions` plug-ins are read from and added to. */
export interface PluginOptions {
  readonly file?: string | undefined
  readonly config?: LoadConfigOptions["input"]
  readonly env?: Record<string, string | undefined> | undefined
  readonly providers?: ReadonlyArray<ProviderDefinition> | undefined
}

const isDefinition = (u: unknown): u is ProviderDefinition =>
  Predicate.hasProperty(u, "type") && typeof u.type === "string" && Predicate.hasProperty(u, "make") &&
  typeof u.make === "function"

/** The definitions a module exports: `default`, `provider` or `providers`, each one definition or a list of them. */
const definitionsOf = (module: Record<string, unknown>): ReadonlyArray<ProviderDefinition> =>
  [module.default, module.provider, module.providers].flatMap((value) =>
    Array.isArray(value) ? value.filter(isDefinition) : isDefinition(value) ? [value] : []
  )

/** `exports["."]` of a package that only exports for `import` (which `require.resolve` cannot see). */
const importEntry = (packageJson: string): string | undefined => {
  const pkg = JSON.parse(readFileSync(packageJson, "utf8")) as { exports?: unknown; module?: unknown; main?: unknown }
  let entry: unknown = Predicate.isObject(pkg.exports) && "." in pkg.exports ? pkg.exports["."] : pkg.exports
  while (Predicate.isObject(entry)) entry = entry.import ?? entry.node ?? entry.default
  const file = typeof entry === "string" ? entry : typeof pkg.main === "string" ? pkg.main : undefined
  return file === undefined ? undefined : join(dirname(packageJson), file)
}

/** The module's URL: a path (relative to `baseDir`), a `file:` URL, or a package in the working directory's node_modules. */
const resolveModule = (ref: PluginRef): string => {
  if (ref.module.startsWith("file:")) return ref.module
  if (ref.module.startsWith(".") || isAbsolute(ref.module)) return pathToFileURL(resolve(ref.baseDir, ref.module)).href
  const from = pathToFileURL(join(process.cwd(), "package.json")).href
  try {
    return pathToFileURL(createRequire(from).resolve(ref.module)).href
  } catch (cause) {
    const packageJson = findPackageJSON(ref.module, from)
    const entry = packageJson === undefined ? undefined : importEntry(packageJson)
    if (entry === undefined) throw cause
    return pathToFileURL(entry).href
  }
}

/** An import failure's first line (Node's include the importing file, and a SyntaxError a stack). */
const firstLine = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause)).split("\n")[0]

/** Imports one plug-in module; a module that does not load or exports no definition fails naming its `plugins[i]`. */
export const loadPlugin = (ref: PluginRef): Effect.Effect<ReadonlyArray<ProviderDefinition>, ConfigurationError> =>
  Effect.tryPromise({
    try: () => import(resolveModule(ref)) as Promise<Record<string, unknown>>,
    catch: (cause) => new ConfigurationError({ path: ref.path, message: `cannot load plug-in ${JSON.stringify(ref.module)}: ${firstLine(cause)}` })
  }).pipe(
    Effect.flatMap((module) => {
      const definitions = definitionsOf(module)
      return definitions.length > 0 ? Effect.succeed(definitions) : Effect.fail(
        new ConfigurationError({
          path: ref.path,
          message: `plug-in ${JSON.stringify(ref.module)} exports no provider definition ` +
            "(a default export, or a named export provider / providers, made with defineProvider)"
        })
      )
    })
  )

const expanded = new WeakSet<PluginOptions>()

/**
 * `options` with the definitions of the config's `plugins` added to `providers` (after the
 * caller's own, so a plug-in module may replace a built-in type). Idempotent: options it
 * returned pass through unread.
 */
export const withPlugins = <O extends PluginOptions>(options: O): Effect.Effect<O, ConfigurationError> => {
  if (expanded.has(options)) return Effect.succeed(options)
  return readPluginRefs({ file: options.file, input: options.config, env: options.env }).pipe(
    Effect.flatMap((refs) => Effect.forEach(refs, loadPlugin)),
    Effect.map((loaded) => {
      const next: O = loaded.length === 0 ? options : { ...options, providers: [...(options.providers ?? []), ...loaded.flat()] }
      expanded.add(next)
      return next
    })
  )
}
