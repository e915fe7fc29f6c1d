import { startPortal } from "./portal.js"

const portal = await startPortal(Number(process.env.PORT ?? 3001))
console.log(`portal at ${portal.url}; zhongbao under ${portal.url}/crowdsourcing (docs: /crowdsourcing/docs)`)
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.once(signal, () => void portal.close().then(() => process.exit(0)))
