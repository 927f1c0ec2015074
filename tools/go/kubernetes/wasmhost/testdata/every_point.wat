;; Guest exporting every extension point, with simple fixed behaviour, for a whole scheduling
;; and binding cycle through the framework:
;;   enqueue: Node/Add and Pod/All; prefilter: only node-a and node-b;
;;   score: (last letter of the node name - 'a') * 10; normalizescore: node-a 100, node-b 0;
;;   postfilter: nominate node-b (mode override), Unschedulable; everything else succeeds.
(module
  (import "k8s.io/scheduler" "currentNodeName" (func $node_name (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "currentPod" (func $current_pod (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "filteredNodeList" (func $filtered (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "nodeScoreList" (func $node_scores (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "result.status_reason" (func $reason (param i32 i32)))
  (import "k8s.io/scheduler" "result.cluster_events" (func $events (param i32 i32)))
  (import "k8s.io/scheduler" "result.node_names" (func $node_names (param i32 i32)))
  (import "k8s.io/scheduler" "result.nominated_node_name" (func $nominated (param i32 i32)))
  (import "k8s.io/scheduler" "result.normalized_score_list" (func $normalized (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 4096) "\01\00\00\00\01\00\00\00\00\00\00\00\3f\00\00\00")
  (data (i32.const 4112) "node-a\00node-b\00")
  (data (i32.const 4128) "node-b")
  (data (i32.const 4144) "{\"node-a\":100,\"node-b\":0}")
  (data (i32.const 4200) "missing input")

  (func $missing (result i32)
    (call $reason (i32.const 4200) (i32.const 13))
    (i32.const 1))

  (func (export "enqueue")
    (call $events (i32.const 4096) (i32.const 16)))

  (func (export "prefilter") (result i32)
    (if (i32.eqz (call $current_pod (i32.const 0) (i32.const 2048)))
      (then (return (call $missing))))
    (call $node_names (i32.const 4112) (i32.const 14))
    (i32.const 0))

  (func (export "filter") (result i32)
    (if (i32.eqz (call $node_name (i32.const 0) (i32.const 256)))
      (then (return (call $missing))))
    (i32.const 0))

  (func (export "postfilter") (result i64)
    (call $nominated (i32.const 4128) (i32.const 6))
    (i64.or (i64.shl (i64.const 1) (i64.const 32)) (i64.const 2)))

  (func (export "prescore") (result i32)
    (if (i32.le_u (call $filtered (i32.const 0) (i32.const 2048)) (i32.const 2))
      (then (return (call $missing))))
    (i32.const 0))

  (func (export "score") (result i64)
    (local $n i32)
    (local.set $n (call $node_name (i32.const 0) (i32.const 256)))
    (if (i32.eqz (local.get $n))
      (then (return (i64.extend_i32_u (call $missing)))))
    (i64.shl
      (i64.extend_i32_u
        (i32.mul
          (i32.sub (i32.load8_u (i32.sub (local.get $n) (i32.const 1))) (i32.const 97))
          (i32.const 10)))
      (i64.const 32)))

  (func (export "normalizescore") (result i32)
    (if (i32.le_u (call $node_scores (i32.const 0) (i32.const 2048)) (i32.const 2))
      (then (return (call $missing))))
    (call $normalized (i32.const 4144) (i32.const 25))
    (i32.const 0))

  (func (export "reserve") (result i32) (i32.const 0))
  (func (export "unreserve"))
  (func (export "permit") (result i64) (i64.const 0))
  (func (export "prebind") (result i32) (i32.const 0))
  (func (export "bind") (result i32) (i32.const 0))
  (func (export "postbind"))
  (func (export "addpod") (result i32) (i32.const 0))
  (func (export "removepod") (result i32) (i32.const 0)))
