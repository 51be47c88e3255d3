/**
 * The classifier that needs no model: the `severity` label first, then the alert's name and
 * annotations, then known noise (Watchdog, InfoInhibitor). Pure and synchronous — a few
 * microseconds per alert — so it is what every alert gets when the LLM is off, down, or answers
 * nonsense. Its accuracy on the labelled fixtures is in notes/ops.md.
 */
import type { Alert, ModelClassification, Severity } from "./Alert.ts"

/** Alerts that exist to prove the pipeline works, or to inhibit others: never a page. */
const NOISE_NAMES = new Set(["watchdog", "infoinhibitor", "deadmansswitch", "deadmanssnitch", "heartbeat", "alwaysfiring"])

const SEVERITY_LABELS: Record<string, Severity> = {
  critical: "critical",
  crit: "critical",
  page: "critical",
  emergency: "critical",
  fatal: "critical",
  disaster: "critical",
  p0: "critical",
  p1: "critical",
  sev1: "critical",
  high: "warning",
  error: "warning",
  major: "warning",
  warning: "warning",
  warn: "warning",
  medium: "warning",
  p2: "warning",
  p3: "warning",
  sev2: "warning",
  sev3: "warning",
  minor: "info",
  low: "info",
  info: "info",
  informational: "info",
  notice: "info",
  p4: "info",
  p5: "info",
  none: "noise",
  silent: "noise"
}

// Words in the alert name / summary that say how bad it is, most severe first.
const CRITICAL = /\b(down|unreachable|unavailable|outage|crash ?loop|oom ?kill|out ?of ?memory|disk ?full|no ?space|expired|data ?loss|split ?brain|quorum|absent|not ?ready|failed|failing)\b|down$|unavailable$|crashloop|oomkill|expired$|absent$|quorumlost/i
const WARNING = /\b(high|slow|latency|pressure|throttl|saturat|filling|almost|nearly|will ?expire|expiring|soon|restart|errors?|degraded|lag|backlog|pending|predict|spike|elevated|increas)|high|slow|latency|pressure|throttl|filling|expir|restart|error|degraded|lag|backlog|pending|predict/i
const INFO = /\b(info|deployed|deployment ?finished|updated|version|changed|started|scaled|completed)\b|info$|deployed$|updated$|completed$/i

const CATEGORIES: ReadonlyArray<readonly [string, RegExp]> = [
  ["meta", /watchdog|inhibitor|deadman|heartbeat|alwaysfiring/i],
  ["certificate", /cert|tls|ssl/i],
  ["security", /security|auth|login|intrusion|vulnerab|unauthori[sz]ed|brute/i],
  ["database", /postgres|mysql|mongo|redis|database|db|replica|replication|query/i],
  ["kubernetes", /kube|pod|node(?!_exporter)|deployment|statefulset|daemonset|container|crashloop/i],
  ["memory", /mem|oom|swap/i],
  ["cpu", /cpu|load|throttl/i],
  ["storage", /disk|filesystem|volume|inode|space|storage/i],
  ["network", /network|packet|dns|interface|bandwidth|connection|socket/i],
  ["latency", /latency|slow|response ?time|duration/i],
  ["errors", /error|5xx|exception|fail/i],
  ["availability", /down|unreachable|unavailable|absent|up\b|target/i]
]

const RECOMMENDATIONS: Record<string, ReadonlyArray<string>> = {
  meta: ["No action: this alert checks that the alerting pipeline works"],
  certificate: ["Renew the certificate and check the renewal job"],
  security: ["Review the access logs for the source", "Rotate credentials if the access was not expected"],
  database: ["Check the database's replication and slow-query logs", "Check connection pool saturation"],
  kubernetes: ["kubectl describe the affected object and read its recent events", "Check the container's logs before its last restart"],
  memory: ["Look for a memory leak in the process's recent heap growth", "Raise the memory limit or scale out"],
  cpu: ["Find the busiest processes", "Scale out or raise the CPU limit"],
  storage: ["Free space or grow the volume", "Check what grew recently (logs, temp files)"],
  network: ["Check interface errors and drops", "Check DNS and upstream connectivity"],
  latency: ["Check upstream dependencies' latency", "Look for saturation (CPU, connections, queues)"],
  errors: ["Read the service's error logs around the start time", "Check the latest deployment"],
  availability: ["Check that the target process runs and its health endpoint answers", "Check recent deployments and node health"],
  general: ["Read the alert's runbook and the service's recent changes"]
}

const textOf = (alert: Alert): string => {
  const a = alert.annotations ?? {}
  return [alert.labels.alertname ?? "", a.summary ?? "", a.description ?? "", a.message ?? ""].join(" ")
}

const categoryOf = (alert: Alert, text: string): string => {
  const labelled = alert.labels.category ?? alert.labels.type
  if (labelled !== undefined && labelled !== "") return labelled.toLowerCase()
  for (const [name, re] of CATEGORIES) if (re.test(text)) return name
  return "general"
}

/** Classifies one alert without a model. */
export const classifyByRules = (alert: Alert): ModelClassification => {
  const name = (alert.labels.alertname ?? "").trim()
  const text = textOf(alert)
  if (NOISE_NAMES.has(name.toLowerCase())) {
    return result("noise", "meta", 0.99, `${name} is a pipeline heartbeat / inhibition helper, not a problem`)
  }
  const category = categoryOf(alert, text)
  const label = (alert.labels.severity ?? alert.labels.priority ?? alert.labels.level ?? "").trim().toLowerCase()
  const fromLabel = SEVERITY_LABELS[label]
  if (fromLabel !== undefined) {
    return result(fromLabel, category, 0.9, `severity label "${label}" on ${name || "the alert"}`)
  }
  if (CRITICAL.test(text)) return result("critical", category, 0.65, `"${name}" describes an outage or failure`)
  if (WARNING.test(text)) return result("warning", category, 0.6, `"${name}" describes a degradation`)
  if (INFO.test(text)) return result("info", category, 0.6, `"${name}" reports a change, not a fault`)
  return result("warning", category, 0.4, `no severity label and nothing in "${name}" says how bad it is`)
}

const result = (severity: Severity, category: string, confidence: number, reasoning: string): ModelClassification => ({
  severity,
  category,
  confidence,
  reasoning,
  recommendations: severity === "noise" ? RECOMMENDATIONS.meta : RECOMMENDATIONS[category] ?? RECOMMENDATIONS.general
})
