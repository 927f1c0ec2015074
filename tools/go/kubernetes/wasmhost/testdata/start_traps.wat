;; _start prints to stdout through WASI, then traps: instantiation must fail with that output.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "start failed on purpose")
  (func (export "_start")
    ;; iovec at 0: {ptr 16, len 23}; bytes written at 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (unreachable))
  (func (export "filter") (result i32) (i32.const 0)))
