;; enqueue alone claims no extension-point group: refused.
(module
  (memory (export "memory") 1)
  (func (export "enqueue")))
