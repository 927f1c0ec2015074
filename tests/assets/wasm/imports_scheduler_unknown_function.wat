;; Invalid (AbiMismatch): k8s.io/scheduler has no function "get_secret".
(module
  (import "k8s.io/scheduler" "get_secret" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "filter") (result i32) (i32.const 0)))
