import { Conformance } from "@zhongbao/testing/conformance"
import * as TestDatabase from "./support.js"

Conformance.suite(`adapter-pg (${TestDatabase.backend})`, TestDatabase.ports(TestDatabase.backend))
