;; prefilter alone is accepted (upstream's special case) as a PreFilter-only plugin.
(module
  (memory (export "memory") 1)
  (func (export "prefilter") (result i32) (i32.const 0)))
