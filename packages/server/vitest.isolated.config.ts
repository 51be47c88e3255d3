import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "server-isolated", include: ["test/metrics.test.ts", "test/ledgerOutage.test.ts", "test/seed.test.ts", "test/auth.test.ts"] }
})
