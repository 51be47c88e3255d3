export * as PostgresConversationStorage from "./PostgresConversationStorage.ts"
export * as RedisCacheStore from "./RedisCacheStore.ts"
export * as SqliteConversationStorage from "./SqliteConversationStorage.ts"
