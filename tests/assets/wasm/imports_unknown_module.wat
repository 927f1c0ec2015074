;; Invalid (AbiMismatch): imports from "env", a module the scheduler does not provide
;; (typical of an AssemblyScript or emscripten build).
(module
  (import "env" "abort" (func (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "filter") (result i32) (i32.const 0)))
