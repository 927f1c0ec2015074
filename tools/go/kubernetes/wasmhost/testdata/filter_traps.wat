;; filter prints to stderr through WASI and traps on node "node-trap"; succeeds elsewhere.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "k8s.io/scheduler" "currentNodeName" (func $node_name (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "guest is about to trap")
  (func (export "filter") (result i32)
    (if (i32.eq (call $node_name (i32.const 256) (i32.const 256)) (i32.const 9))
      (then
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 22))
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        (unreachable)))
    (i32.const 0)))
