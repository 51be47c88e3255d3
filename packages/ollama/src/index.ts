export * from "./OllamaClient.ts"
