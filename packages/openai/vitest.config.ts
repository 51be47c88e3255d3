import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "openai", isolate: false, include: ["test/**/*.test.ts"] }
})
