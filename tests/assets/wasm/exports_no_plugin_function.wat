;; Invalid (AbiMismatch): exports memory and a helper, but no extension point.
(module
  (memory (export "memory") 1)
  (func (export "helper") (result i32) (i32.const 0)))
