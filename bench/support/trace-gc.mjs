// Loaded with `--import` by `bench/ab-hall.ts` when GC=1: V8 prints a line per collection.
import { setFlagsFromString } from "node:v8"

setFlagsFromString("--trace-gc-nvp")
