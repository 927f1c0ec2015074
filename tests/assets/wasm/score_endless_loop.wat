;; Invalid (DryRunTrapped): score never returns; fuel or the wall-clock budget stops it.
(module
  (memory (export "memory") 1)
  (func (export "score") (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))
