;; Invalid (DryRunTrapped): `_start` (guest runtime init) traps, so the scheduler cannot
;; instantiate the plugin.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable)
  (func (export "filter") (result i32) (i32.const 0)))
