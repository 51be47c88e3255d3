import { defineProject } from "vitest/config"

/**
 * Files that read process-wide state (the metrics registry's counters) run each in its own
 * worker; the rest share workers, which saves a module graph load per file.
 */
const ownProcess = ["test/metrics.test.ts", "test/ledgerOutage.test.ts", "test/seed.test.ts", "test/auth.test.ts"]

export default defineProject({
  test: { name: "server", isolate: false, include: ["test/**/*.test.ts"], exclude: ownProcess }
})
