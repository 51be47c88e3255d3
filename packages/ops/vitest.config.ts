import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "ops", isolate: false, include: ["test/**/*.test.ts"] }
})
