;; Invalid (AbiMismatch): get_config is (i32, i32) -> (i32) upstream; declared with one param.
(module
  (import "k8s.io/scheduler" "get_config" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "filter") (result i32) (i32.const 0)))
