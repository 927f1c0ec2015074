;; Invalid (AbiMismatch): no "memory" export, so the host cannot exchange data with the guest.
(module
  (memory 1)
  (func (export "filter") (result i32) (i32.const 0)))
