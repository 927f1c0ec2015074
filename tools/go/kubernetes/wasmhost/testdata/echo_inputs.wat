;; Guest whose exports hand their input back as the status reason, so a test can see exactly
;; what the host gave the guest. Most return Unschedulable (2) to carry the reason.
;;   prefilter: currentPod  filter: currentNodeName  postfilter: nodeToStatusMap
;;   prescore: filteredNodeList  normalizescore: nodeScoreList
;;   reserve: nodeImageStates(currentNodeName)  permit: node(currentNodeName), Wait 1500 ms
;;   prebind: nodeList  addpod: targetPod  bind: Skip
;;   score: checks the getter protocol on get_config, scores its length
(module
  (import "k8s.io/api" "node" (func $node (param i32 i32 i32 i32) (result i32)))
  (import "k8s.io/api" "nodeList" (func $node_list (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "get_config" (func $get_config (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "currentNodeName" (func $node_name (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "currentPod" (func $current_pod (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "targetPod" (func $target_pod (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "filteredNodeList" (func $filtered (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "nodeImageStates" (func $image_states (param i32 i32 i32 i32) (result i32)))
  (import "k8s.io/scheduler" "nodeToStatusMap" (func $node_status (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "nodeScoreList" (func $node_scores (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "result.status_reason" (func $reason (param i32 i32)))
  (memory (export "memory") 1)
  (global $limit i32 (i32.const 60000))
  (global $name i32 (i32.const 60000))
  (global $probe i32 (i32.const 65000))

  ;; echo sets the first n bytes of memory as the reason and returns Unschedulable.
  (func $echo (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (global.get $limit)) (then (return (i32.const 1))))
    (call $reason (i32.const 0) (local.get $n))
    (i32.const 2))

  ;; name_len writes currentNodeName at $name and returns its length.
  (func $name_len (result i32)
    (call $node_name (global.get $name) (i32.const 256)))

  (func (export "prefilter") (result i32)
    (call $echo (call $current_pod (i32.const 0) (global.get $limit))))
  (func (export "filter") (result i32)
    (call $echo (call $node_name (i32.const 0) (global.get $limit))))
  (func (export "postfilter") (result i64)
    (i64.extend_i32_u (call $echo (call $node_status (i32.const 0) (global.get $limit)))))
  (func (export "prescore") (result i32)
    (call $echo (call $filtered (i32.const 0) (global.get $limit))))
  (func (export "normalizescore") (result i32)
    (call $echo (call $node_scores (i32.const 0) (global.get $limit))))
  (func (export "reserve") (result i32)
    (call $echo (call $image_states (global.get $name) (call $name_len) (i32.const 0) (global.get $limit))))
  (func (export "permit") (result i64)
    (drop (call $echo (call $node (global.get $name) (call $name_len) (i32.const 0) (global.get $limit))))
    (i64.or (i64.shl (i64.const 4) (i64.const 32)) (i64.const 1500)))
  (func (export "prebind") (result i32)
    (call $echo (call $node_list (i32.const 0) (global.get $limit))))
  (func (export "addpod") (result i32)
    (call $echo (call $target_pod (i32.const 0) (global.get $limit))))
  (func (export "bind") (result i32) (i32.const 5))

  ;; A getter with too small a limit writes nothing and returns the needed length; with enough
  ;; room it writes. Score: the config length on success, Error (1) otherwise.
  (func (export "score") (result i64)
    (local $need i32)
    (local.set $need (call $get_config (global.get $probe) (i32.const 0)))
    (if (i32.eqz (local.get $need)) (then (return (i64.const 1))))
    (if (i32.ne (call $get_config (global.get $probe) (i32.sub (local.get $need) (i32.const 1))) (local.get $need))
      (then (return (i64.const 1))))
    (if (i32.load8_u (global.get $probe)) (then (return (i64.const 1))))
    (if (i32.ne (call $get_config (global.get $probe) (local.get $need)) (local.get $need))
      (then (return (i64.const 1))))
    (if (i32.eqz (i32.load8_u (global.get $probe))) (then (return (i64.const 1))))
    (i32.store8 (global.get $probe) (i32.const 0))
    (i64.shl (i64.extend_i32_u (local.get $need)) (i64.const 32))))
