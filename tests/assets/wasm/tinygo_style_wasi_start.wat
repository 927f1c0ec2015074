;; Valid: shaped like a TinyGo guest. It imports WASI, exports `_start` (runtime init: writes to
;; stdout, seeds from random_get) and a filter that traps unless `_start` ran first.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $initialized (mut i32) (i32.const 0))
  (data (i32.const 16) "guest runtime initialized\n")
  (func (export "_start")
    ;; iovec {ptr=16, len=26} at 0; bytes written go to 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 26))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $random_get (i32.const 64) (i32.const 8)))
    (global.set $initialized (i32.const 1)))
  (func (export "filter") (result i32)
    (if (i32.eqz (global.get $initialized)) (then unreachable))
    (i32.const 0)))
