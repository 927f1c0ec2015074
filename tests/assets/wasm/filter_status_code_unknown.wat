;; Invalid (AbiMismatch): filter returns status code 42, which the scheduler framework lacks.
(module
  (memory (export "memory") 1)
  (func (export "filter") (result i32) (i32.const 42)))
