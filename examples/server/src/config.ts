/**
 * The example server's configuration, from the environment.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | `3000` | port to listen on |
 * | `HOST` | `127.0.0.1` | address to bind (`0.0.0.0` to expose it) |
 * | `DATABASE_URL` | — | PostgreSQL; without it, embedded PGlite in `DATA_DIR` |
 * | `DATA_DIR` | `.data/pglite` | PGlite's folder |
 * | `DATABASE_SCHEMA` | `zhongbao` | the schema zhongbao's tables live in |
 * | `SMS_PROVIDER` | `console` | `console`, `aliyun` or `tencent` (keys: see @zhongbao/adapter-sms) |
 * | `SEED` | `true` | seed demo data into an empty database |
 * | `LOG_FORMAT` | `json` | `json` or `pretty` |
 */
import { Config, Option, Redacted } from "effect"

export const ServerConfig = Config.all({
  port: Config.integer("PORT").pipe(Config.withDefault(3000)),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")).pipe(
    Config.map(Option.filter((url) => Redacted.value(url).trim() !== ""))
  ),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault(".data/pglite")),
  schema: Config.string("DATABASE_SCHEMA").pipe(Config.withDefault("zhongbao")),
  smsProvider: Config.literal(
    "console",
    "aliyun",
    "tencent"
  )("SMS_PROVIDER").pipe(Config.withDefault("console")),
  seed: Config.boolean("SEED").pipe(Config.withDefault(true)),
  logFormat: Config.literal("json", "pretty")("LOG_FORMAT").pipe(Config.withDefault("json"))
})

export type ServerConfig = Config.Config.Success<typeof ServerConfig>
