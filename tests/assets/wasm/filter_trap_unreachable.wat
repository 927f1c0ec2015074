;; Invalid (DryRunTrapped): filter hits `unreachable`, like a Go panic in a TinyGo guest.
(module
  (memory (export "memory") 1)
  (func (export "filter") (result i32)
    unreachable))
