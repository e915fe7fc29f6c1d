import { startPortal } from "./portal.js"

const portal = await startPortal(Number(process.env.PORT ?? 3001))
console.log(`portal at ${portal.url}; zhongbao under ${portal.url}/crowdsourcing (docs: /crowdsourcing/docs)`)
process.on("SIGTERM", () => void portal.close().then(() => process.exit(0)))
