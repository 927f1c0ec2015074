;; Exports a filter but no memory: the host has nowhere to write, so the guest is refused.
(module
  (func (export "filter") (result i32) (i32.const 0)))
