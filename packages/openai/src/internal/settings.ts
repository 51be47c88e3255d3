/**
 * From a `providers[]` entry to what the SDK constructor needs: base URL, key, headers, Azure
 * parameters. Checked here, once, so a bad entry fails at startup with a ConfigurationError
 * naming the field, not on the first request.
 */
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { Effect, Redacted } from "effect"
import { defaultBaseUrlOf, type OpenAIWireConfig } from "../OpenAIConfig.ts"
import type { MaxTokensField } from "./wire.ts"

export interface Settings {
  readonly baseURL: string
  readonly apiKey: string
  readonly headers: Record<string, string> | undefined
  /** Query parameters that were part of the configured URL (kept on every request). */
  readonly query: Record<string, string> | undefined
  readonly azure: { readonly apiVersion: string; readonly deployment: string | undefined } | undefined
  readonly secrets: ReadonlyArray<string>
  readonly maxTokensField: MaxTokensField
  readonly base64Embeddings: boolean
}

/** A GA api-version every Azure OpenAI resource serves; `apiVersion` in config overrides it. */
export const DEFAULT_AZURE_API_VERSION = "2024-10-21"


/**
 * Local servers ignore the key, but the SDK refuses to start without one; this placeholder is
 * what they receive in `Authorization`.
 */
const PLACEHOLDER_KEY = "no-key"

/** Suffixes a full endpoint URL may carry (`LLM_BASE_URL=http://host/v1/chat/completions`). */
const endpointSuffix = /\/(chat\/completions|completions|embeddings|models)\/?$/

const configError = (config: OpenAIWireConfig, field: string, message: string) =>
  new ConfigurationError({ message, path: `providers.${config.name}.${field}` })

interface ParsedUrl {
  readonly base: string
  readonly query: Record<string, string> | undefined
}

const parseUrl = (raw: string): ParsedUrl | undefined => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  let path = url.pathname.replace(/\/+$/, "")
  path = path.replace(endpointSuffix, "").replace(/\/+$/, "")
  let query: Record<string, string> | undefined
  for (const [k, v] of url.searchParams) (query ??= {})[k] = v
  return { base: `${url.origin}${path}`, query }
}

export const resolveSettings = (config: OpenAIWireConfig): Effect.Effect<Settings, ConfigurationError> =>
  Effect.suspend(() => {
    const key = config.apiKey === undefined ? "" : Redacted.value(config.apiKey)
    let headers: Record<string, string> | undefined
    const secrets: Array<string> = []
    if (key.length > 0) secrets.push(key)
    if (config.headers !== undefined) {
      for (const [name, value] of Object.entries(config.headers)) {
        const v = Redacted.value(value)
        ;(headers ??= {})[name] = v
        // Header values are treated as secrets; very short ones would scrub ordinary words.
        if (v.length >= 6) secrets.push(v)
      }
    }

    if (config.type === "azure-openai") {
      if (config.baseUrl === undefined) {
        return Effect.fail(configError(config, "baseUrl", "Azure OpenAI needs baseUrl: https://<resource>.openai.azure.com"))
      }
      if (key.length === 0) return Effect.fail(configError(config, "apiKey", "Azure OpenAI needs an apiKey"))
      const parsed = parseUrl(config.baseUrl)
      if (parsed === undefined) return Effect.fail(configError(config, "baseUrl", "not an http(s) URL"))
      // Accept the endpoint, `…/openai`, or a full `…/openai/deployments/<name>/chat/completions` URL.
      const m = /^(.*?)\/openai(?:\/deployments\/([^/]+))?$/.exec(parsed.base)
      const root = m === null ? parsed.base : m[1]
      const urlDeployment = m?.[2] === undefined ? undefined : decodeURIComponent(m[2])
      const rest: Record<string, string> = { ...parsed.query }
      const queryVersion = rest["api-version"]
      delete rest["api-version"]
      return Effect.succeed<Settings>({
        baseURL: `${root}/openai`,
        apiKey: key,
        headers,
        query: Object.keys(rest).length > 0 ? rest : undefined,
        azure: {
          apiVersion: config.apiVersion ?? queryVersion ?? DEFAULT_AZURE_API_VERSION,
          // Unset: the SDK puts each request's model id in the path, i.e. deployment = model id.
          deployment: config.deployment ?? urlDeployment
        },
        secrets,
        maxTokensField: "max_tokens",
        base64Embeddings: true
      })
    }

    // the definition holds the default address (OpenAIProvider.ts): one place for base URLs
    const raw = config.baseUrl ?? defaultBaseUrlOf(config.type)
    if (raw === undefined) {
      return Effect.fail(configError(config, "baseUrl", `provider type ${config.type} needs a baseUrl (…/v1)`))
    }
    const parsed = parseUrl(raw)
    if (parsed === undefined) return Effect.fail(configError(config, "baseUrl", "not an http(s) URL"))
    // Hosted APIs at their default address cannot work without a key; a custom baseUrl may be a local server.
    if (key.length === 0 && config.baseUrl === undefined && (config.type === "openai" || config.type === "gemini")) {
      return Effect.fail(configError(config, "apiKey", `provider type ${config.type} needs an apiKey`))
    }
    // OpenAI's own API (not a compatible server configured with type openai): newer parameters are safe.
    const official = config.type === "openai" && new URL(parsed.base).hostname === "api.openai.com"
    return Effect.succeed<Settings>({
      baseURL: parsed.base,
      apiKey: key.length > 0 ? key : PLACEHOLDER_KEY,
      headers,
      query: parsed.query,
      azure: undefined,
      secrets,
      maxTokensField: official ? "max_completion_tokens" : "max_tokens",
      base64Embeddings: official
    })
  })
