;; Invalid (DryRunTrapped): `_start` calls proc_exit(0). wazero then closes the module (exit
;; code 0 is not an instantiation error), so every later scheduler call fails.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const 0)))
  (func (export "filter") (result i32) (i32.const 0)))
