/*
 * Valid score plugin: scores a node by the integer value of one of its labels, clamped to
 * 0..100; nodes without the label score 0. The label key is the plugin's guestConfig, by
 * default "wasmgate.dev/score" (the synthetic dry-run nodes all carry it). Reads the node with
 * k8s.io/api.node, retrying with the size the host asks for.
 */
#include "k8s_guest.h"

EXPORT("score") u64 score(void) {
    bytes key, name, node, value;
    arena_reset();
    if (fetch(k8s_get_config, &key) || fetch(k8s_current_node_name, &name)) {
        k8s_status_reason("cannot read inputs", 18);
        return STATUS_ERROR;
    }
    if (key.len == 0) key = cstr("wasmgate.dev/score");
    if (fetch_node(name, &node) || node.len == 0) {
        k8s_status_reason("node not found", 14);
        return STATUS_ERROR;
    }
    u64 points = 0;
    if (object_label(node, key, &value) == 0) {
        for (u32 i = 0; i < value.len && value.ptr[i] >= '0' && value.ptr[i] <= '9'; i++) {
            points = points * 10 + (value.ptr[i] - '0');
            if (points > 100) points = 100;
        }
    }
    /* score in the high 32 bits, status code (Success) in the low 32 bits */
    return points << 32 | STATUS_SUCCESS;
}
