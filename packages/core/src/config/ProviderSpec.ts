/**
 * The config half of a provider definition (`providers/ProviderDefinition` adds `make`): what
 * the config needs to know about a `type` — default base URL and its normalisation, the env
 * variables it reads, bare model-id rules, family and catalog rows. Core's config functions
 * receive these as a parameter (core cannot import provider packages); the `llm-gateway`
 * package supplies the built-in list, a user's plug-ins come on top. There is no table of
 * provider types anywhere else.
 */
import type { Schema } from "effect"
import type { ModelCapabilities } from "../domain/Messages.ts"
import type { ModelEntry, ProviderFamily } from "./ConfigSchema.ts"

/** One provider field set from env: the first variable of `vars` that is set wins. */
export interface EnvField {
  /** Field path in the provider entry: `apiKey`, `baseUrl`, `modelPath`, `defaults.maxTokens`. */
  readonly field: string
  readonly vars: ReadonlyArray<string>
  /** `url` is normalised like the definition's base URLs; `int`/`number` are checked. Default `string`. */
  readonly kind?: "string" | "url" | "int" | "number" | undefined
  /** Setting it switches the provider on (a key, a URL); otherwise it only fills a provider env or the file makes. */
  readonly activates?: boolean | undefined
}

/** The env variables a provider type reads (seeds 000-004), declaratively: `fromEnv` iterates them. */
export interface ProviderEnv {
  /** The provider name env makes (`local` for llama.cpp); default the type. */
  readonly name?: string | undefined
  readonly fields?: ReadonlyArray<EnvField> | undefined
  /** The variable naming the primary model; `id` turns its value into a model id (a GGUF path → its name). */
  readonly model?: {
    readonly var: string
    readonly activates?: boolean | undefined
    readonly id?: ((value: string) => string) | undefined
  } | undefined
  /** The generic BYOK set (`LLM_PROVIDER`, `LLM_API_KEY`, `LLM_BASE_URL`, `LLM_MODEL`) selects this type. */
  readonly generic?: {
    /** `LLM_PROVIDER` values meaning this type. */
    readonly aliases: ReadonlyArray<string>
    /** Without `LLM_PROVIDER`: a key with this prefix means this type (`sk-ant-`). */
    readonly keyPrefix?: string | undefined
    /** Without `LLM_PROVIDER`: an `LLM_BASE_URL` on a host this accepts means this type. */
    readonly host?: ((hostname: string) => boolean) | undefined
    /** Without `LLM_PROVIDER`: the type when there is no `LLM_BASE_URL` (`withoutUrl`) or it matched no host (`otherUrl`). */
    readonly fallback?: "withoutUrl" | "otherUrl" | undefined
  } | undefined
}

/** `F`: the entry fields of this type beyond the common ones (`configFields`). */
export interface ProviderSpec<F extends Schema.Struct.Fields = {}> {
  /** The config `type` (`providers[].type`) this definition serves. */
  readonly type: string
  /**
   * Where the provider sits in the default task order (notes/routing.md "Candidates"): `anthropic` (Claude), `openai`
   * (GPT), `local` (zero-cost, self-hosted). Written into each entry of this type that sets
   * none. Without it, the provider is only routed to when named.
   */
  readonly family?: ProviderFamily | undefined
  /** The upstream's address when the config gives no `baseUrl` (env-made providers get it written in). */
  readonly defaultBaseUrl?: string | undefined
  /**
   * The client applies `defaultBaseUrl` itself (a hosted API: the entry keeps `baseUrl` unset,
   * so the client can tell its default address, where a key is required, from a configured one).
   * Otherwise a file entry without `baseUrl` gets the default written in.
   */
  readonly clientDefaultsBaseUrl?: boolean | undefined
  /** A file entry must give `baseUrl` (a local server: `defaultBaseUrl` only serves env); else a ConfigurationError at `providers[i].baseUrl`. */
  readonly needsBaseUrl?: boolean | undefined
  /** Fields an entry must set, with what they mean: `{ modelPath: "a GGUF file" }`. */
  readonly requiredFields?: Readonly<Record<string, string>> | undefined
  /** A base URL as this type's SDK wants it, after scheme and trailing slashes are settled (strip endpoint paths users copy). */
  readonly normalizeBaseUrl?: ((url: string) => string) | undefined
  /**
   * Catalog rows: the models a provider of this type gets when its config lists none, and the
   * prices / context windows a listed model borrows when its entry leaves them out.
   */
  readonly models?: ReadonlyArray<ModelEntry> | undefined
  /** Bare model ids this type claims by name (`gpt-…` → openai); types are asked in list order. */
  readonly ownsModelId?: ((id: string) => boolean) | undefined
  /** Serves any model id: a bare id no type claims goes to the configured provider of the lowest rank. */
  readonly anyModelRank?: number | undefined
  readonly env?: ProviderEnv | undefined
  /**
   * The fields an entry of this type may set beyond the common ones (`ConfigSchema.providerCommonFields`),
   * as Schema fields: `{ apiVersion: Schema.optional(Schema.NonEmptyString) }`. The config's
   * provider entries are the union of the definitions' schemas, keyed by `type`.
   */
  readonly configFields?: F | undefined
  /**
   * What no model of this type can take, whatever its entry says (`{ vision: false, audio: false }`
   * for llama.cpp): written over every model entry's `capabilities`, so the router's capability
   * planning skips or refuses them (notes/rich-messages.md §4).
   */
  readonly limits?: ModelCapabilities | undefined
}

/** Specs by `type`; later ones replace earlier ones of the same type (a plug-in may override a built-in). */
export const specsByType = <S extends ProviderSpec>(specs: ReadonlyArray<S>): ReadonlyMap<string, S> =>
  new Map(specs.map((d) => [d.type, d] as const))

/** The provider name env gives a type (`local` for llamacpp). */
export const envNameOf = (spec: ProviderSpec): string => spec.env?.name ?? spec.type

/** Strips the first of `suffixes` (case-insensitive) the URL ends with. */
export const stripUrlSuffix = (url: string, suffixes: ReadonlyArray<string>): string => {
  const lower = url.toLowerCase()
  for (const suffix of suffixes) {
    if (lower.endsWith(suffix)) return url.slice(0, -suffix.length)
  }
  return url
}

/** The URL's path (`/v1`), or undefined when it does not parse. */
export const urlPath = (url: string): string | undefined => {
  try {
    return new URL(url).pathname
  } catch {
    return undefined
  }
}

/** The endpoints of OpenAI's API a copied URL may end in (`LLM_BASE_URL=…/v1/chat/completions`, notes/configuration.md). */
export const openaiEndpoints: ReadonlyArray<string> = ["/chat/completions", "/completions", "/embeddings", "/responses", "/models"]
