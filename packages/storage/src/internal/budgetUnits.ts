/** Budget amounts as integer nano-USD, shared by every BudgetStore: no float drift in counters. */
export const NANO = 1e9
/** Reservations round up, spend rounds to nearest: a reservation always covers its cost. */
export const reserveNano = (usd: number) => Math.ceil(usd * NANO)
export const spendNano = (usd: number) => Math.round(usd * NANO)
export const limitNano = (usd: number) => Math.floor(usd * NANO)

let counter = 0
export const reservationId = () =>
  `${Date.now().toString(36)}-${process.pid.toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
