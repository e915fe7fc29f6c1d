import { HashMap, Layer, Logger, LogLevel } from "effect"

/** Captures every log line (all levels) as JSON text, with annotations and spans. */
export const capture = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    lines.push(
      JSON.stringify({
        level: logLevel.label,
        message,
        annotations: Object.fromEntries(HashMap.toEntries(annotations)),
        spans: [...spans].map((span) => span.label),
        cause: cause._tag === "Empty" ? undefined : String(cause)
      })
    )
  })
  const layer = Layer.merge(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(LogLevel.All)
  )
  return { lines, layer }
}
