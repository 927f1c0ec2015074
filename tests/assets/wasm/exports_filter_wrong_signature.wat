;; Invalid (AbiMismatch): filter must be () -> (i32); this one takes a parameter.
(module
  (memory (export "memory") 1)
  (func (export "filter") (param i32) (result i32) (local.get 0)))
