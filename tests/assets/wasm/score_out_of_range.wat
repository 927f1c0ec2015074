;; Invalid (AbiMismatch): score returns 150 (150 << 32 | Success) without normalizescore;
;; the framework requires 0..100 and fails the scheduling cycle.
(module
  (memory (export "memory") 1)
  (func (export "score") (result i64) (i64.const 0x0000009600000000)))
