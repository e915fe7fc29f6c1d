import { PersistenceMemory } from "@zhongbao/core"
import { Conformance } from "@zhongbao/testing/conformance"

Conformance.suite("memory", PersistenceMemory.layerMemory, { requireOptional: true })
