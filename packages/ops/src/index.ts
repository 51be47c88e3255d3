/**
 * @llm-gateway/ops: alert classification for Alertmanager (seeds 000-002) and the LLM side of a
 * self-healing loop (notes/ops.md "System analysis and healing"), built on llm-gateway's `LLMManager` — the worked example of a
 * platform package on the library.
 */
export * from "./Alert.ts"
export { AlertClassifier, type AlertClassifierOptions, type AlertClassifierShape } from "./AlertClassifier.ts"
export { AlertForwarder, type AlertForwarderOptions, type DownstreamConfig } from "./AlertForwarder.ts"
export { AlertOutbox, OutboxFeature } from "./AlertOutbox.ts"
export { enrichAlert, enrichPayload } from "./Enrichment.ts"
export { EnrichmentMode, Mode, MODES } from "./EnrichmentMode.ts"
export * as OpsLayer from "./OpsLayer.ts"
export { classifyByRules } from "./RuleClassifier.ts"
export { type Analysis, type HealingDecision, healingDecisionSchema, SystemAnalyst } from "./SystemAnalyst.ts"
