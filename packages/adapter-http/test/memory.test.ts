/**
 * The suites on core's in-memory ports. Each suite is a function of the ports layer:
 * adapter-pg runs the same suites with one line each over its own layer.
 */
import { PersistenceMemory } from "@zhongbao/core"
import { authorizationSuite } from "./authorization.js"
import { contractSuite } from "./contract.js"
import { extremesSuite } from "./extremes.js"
import { fuzzSuite } from "./fuzz.js"

contractSuite("memory", PersistenceMemory.layerMemory)
authorizationSuite("memory", PersistenceMemory.layerMemory)
fuzzSuite("memory", PersistenceMemory.layerMemory)
extremesSuite("memory", PersistenceMemory.layerMemory)
