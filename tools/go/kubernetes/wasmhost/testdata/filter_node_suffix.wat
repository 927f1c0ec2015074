;; Filter guest: a node fits when its name ends with the guestConfig string.
;; Exercises get_config, currentNodeName, result.status_reason and klog.log.
(module
  (import "k8s.io/scheduler" "currentNodeName" (func $node_name (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "get_config" (func $get_config (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "result.status_reason" (func $reason (param i32 i32)))
  (import "k8s.io/klog" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  ;; 0..255 node name, 256..511 suffix
  (data (i32.const 1024) "node name lacks the configured suffix")
  (data (i32.const 1100) "node name or suffix longer than 256 bytes")

  (func $reject (result i32)
    (call $reason (i32.const 1024) (i32.const 37))
    (call $log (i32.const 0) (i32.const 1024) (i32.const 37))
    (i32.const 2))

  (func (export "filter") (result i32)
    (local $n i32) (local $s i32) (local $i i32)
    (local.set $n (call $node_name (i32.const 0) (i32.const 256)))
    (local.set $s (call $get_config (i32.const 256) (i32.const 256)))
    (if (i32.or (i32.gt_u (local.get $n) (i32.const 256)) (i32.gt_u (local.get $s) (i32.const 256)))
      (then
        (call $reason (i32.const 1100) (i32.const 41))
        (return (i32.const 1))))
    (if (i32.gt_u (local.get $s) (local.get $n))
      (then (return (call $reject))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $s)))
        (if (i32.ne
              (i32.load8_u (i32.add (i32.const 256) (local.get $i)))
              (i32.load8_u (i32.add (i32.sub (local.get $n) (local.get $s)) (local.get $i))))
          (then (return (call $reject))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0)))
