import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "anthropic", isolate: false, include: ["test/**/*.test.ts"] }
})
