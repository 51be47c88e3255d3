/**
 * What an OpenAI-wire entry holds, and each type's default address: read by the definitions
 * (OpenAIProvider.ts) and by the client, so neither imports the other's module.
 */
import type { ProviderEntry } from "@llm-gateway/core/config/ConfigSchema"
import { Schema } from "effect"

/** Azure's own entry fields: the `api-version` query parameter and the deployment name (default: the model id). */
export const azureConfigFields = {
  apiVersion: Schema.optional(Schema.NonEmptyString),
  deployment: Schema.optional(Schema.NonEmptyString)
}

/** The OpenAI-wire types whose entries have the common fields only. */
export type OpenAIWireType = "openai" | "openai-compatible" | "vllm" | "lmstudio" | "gemini"

/** An entry the OpenAI client serves: one of the OpenAI-wire types, Azure with its own fields. */
export type OpenAIWireConfig = ProviderEntry<OpenAIWireType> | ProviderEntry<"azure-openai", typeof azureConfigFields>

/** Where each OpenAI-wire type answers when its entry names no `baseUrl` (Azure and compatible servers must). */
export const defaultBaseUrls: Readonly<Record<OpenAIWireType | "azure-openai", string | undefined>> = {
  openai: "https://api.openai.com/v1",
  "azure-openai": undefined,
  "openai-compatible": undefined,
  vllm: "http://127.0.0.1:8000/v1",
  lmstudio: "http://127.0.0.1:1234/v1",
  gemini: "https://generativelanguage.googleapis.com/v1beta/openai"
}

/** The default address of an OpenAI-wire type (the client's one source, shared with the definitions). */
export const defaultBaseUrlOf = (type: string): string | undefined => defaultBaseUrls[type as OpenAIWireType]
