/**
 * Every configured provider's client, by provider name. The router looks clients up here;
 * the `llm-gateway` package builds it from config (one client per `providers[]` entry).
 */
import { Context, Layer } from "effect"
import type { ModelClientShape } from "./ModelClient.ts"

export interface ModelClientsShape {
  readonly get: (provider: string) => ModelClientShape | undefined
  readonly all: ReadonlyArray<ModelClientShape>
}

export class ModelClients extends Context.Service<ModelClients, ModelClientsShape>()("@llm-gateway/core/ModelClients") {
  static readonly fromClients = (clients: ReadonlyArray<ModelClientShape>): ModelClientsShape => {
    const byName = new Map(clients.map((c) => [c.provider, c] as const))
    return { get: (provider) => byName.get(provider), all: clients }
  }
  static readonly layerFrom = (clients: ReadonlyArray<ModelClientShape>) =>
    Layer.succeed(ModelClients, ModelClients.of(ModelClients.fromClients(clients)))
}
