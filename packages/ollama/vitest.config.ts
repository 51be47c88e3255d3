import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "ollama", include: ["test/**/*.test.ts"] }
})
