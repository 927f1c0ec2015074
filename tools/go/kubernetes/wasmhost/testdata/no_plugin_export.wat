;; Exports memory and a function that is no extension point.
(module
  (memory (export "memory") 1)
  (func (export "hello") (result i32) (i32.const 0)))
