import type * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as AST from "effect/SchemaAST"
import { Rule } from "../Api.js"
import { InvalidInput } from "../ApiError.js"
import { responder } from "./encode.js"
import { quotedChars } from "./middleware.js"

/**
 * @internal
 * The refusal of a request whose query names a parameter its endpoint does not take;
 * `undefined` when it names none. The names taken are those of the endpoint's
 * `urlParams` schema as sent (none without one). The query is what the router parsed
 * and the endpoint decodes (`ParsedSearchParams`): the router starts it at the
 * first `?` or `;`, so `/demands;x=1` names `x`. In English, as effect/Schema words
 * an unknown property of a body ("is unexpected, expected: …"); the API's middleware
 * translates it.
 */
export const unknownParamOf = (
  endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
): ((params: Readonly<Record<string, unknown>>) => InvalidInput | undefined) => {
  const taken = Option.match(endpoint.urlParamsSchema, {
    onNone: () => [],
    onSome: (schema) =>
      AST.getPropertySignatures(AST.encodedAST(schema.ast)).flatMap((p) =>
        typeof p.name === "string" ? [p.name] : []
      )
  })
  const known = new Set(taken)
  const expected = taken.map((name) => `"${name}"`).join(" | ")
  const rule = Option.getOrElse(Context.getOption(endpoint.annotations, Rule), () => "§input")
  return (params) => {
    for (const name of Object.keys(params)) {
      if (known.has(name)) continue
      const field = name.length > quotedChars ? `${name.slice(0, quotedChars)}…` : name
      const detail = expected === "" ? "is unexpected" : `is unexpected, expected: ${expected}`
      return new InvalidInput({ rule, code: "input.invalid", field, message: `${field}: ${detail}` })
    }
    return undefined
  }
}

/**
 * @internal
 * A group's handlers as the API serves them:
 *
 * - a request naming a query parameter its endpoint does not take is refused
 *   (`400`, `input.invalid`, the parameter named), as a body's unknown property is: a
 *   misspelled filter (`?state=draft` for `?states=draft`, `?feild=` for `?field=`)
 *   would otherwise be dropped without a word, and the page answered unfiltered. It
 *   is checked after the endpoint's own inputs are decoded and before its handler
 *   runs, so a refused request does nothing;
 * - each handler's success value is encoded and sent by {@link responder}, as the
 *   builder would send it, without `Schema.encode`.
 */
export const served = <H extends HttpApiBuilder.Handlers.Any>(handlers: H): H => {
  const self = handlers as unknown as HttpApiBuilder.Handlers<unknown, never, unknown>
  const items = Chunk.map(self.handlers, (item) => {
    const respond = responder(item.endpoint)
    const unknownParam = unknownParamOf(item.endpoint as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps)
    const handler = item.handler
    const answered =
      respond === undefined
        ? handler
        : (request: never) =>
            Effect.map(handler(request), (value) =>
              HttpServerResponse.isServerResponse(value) ? value : respond(value)
            )
    return {
      ...item,
      handler: (request: never) =>
        Effect.flatMap(HttpServerRequest.ParsedSearchParams, (params) => {
          const refused = unknownParam(params)
          return refused === undefined ? answered(request) : Effect.fail(refused)
        })
    }
  })
  return Object.assign(Object.create(Object.getPrototypeOf(handlers) as object), self, {
    handlers: items
  }) as H
}
