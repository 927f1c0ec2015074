;; Imports a k8s.io/scheduler function the host does not have.
(module
  (import "k8s.io/scheduler" "no_such_function" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "filter") (result i32) (i32.const 0)))
