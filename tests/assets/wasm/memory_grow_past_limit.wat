;; Invalid (DryRunTrapped): filter keeps growing memory by 16 pages; when memory.grow fails
;; (returns -1 at the validator child's memory ceiling) it aborts as an allocator does on
;; out-of-memory.
(module
  (memory (export "memory") 1)
  (func (export "filter") (result i32)
    (loop $grow
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
        (then unreachable))
      (br $grow))
    (i32.const 0)))
