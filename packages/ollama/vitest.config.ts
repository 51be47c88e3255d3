import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "ollama", isolate: false, include: ["test/**/*.test.ts"] }
})
