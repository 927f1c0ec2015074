/*
 * Valid filter plugin: admits nodes by the suffix of their name. The rule comes from the
 * plugin's guestConfig (k8s.io/scheduler.get_config); an empty config uses DEFAULT_RULE:
 *
 *   pod-digit        admit nodes whose name ends with the last digit of the pod's name
 *   not-pod-digit    admit nodes whose name does NOT end with that digit
 *   suffix=<text>    admit nodes whose name ends with <text>
 *
 * Pods whose name does not end in a digit are admitted everywhere by the pod-digit rules.
 * Built twice: filter_node_name_suffix.wasm (DEFAULT_RULE "pod-digit") and
 * filter_node_name_suffix_inverted.wasm (DEFAULT_RULE "not-pod-digit"), so end-to-end tests can
 * swap one plugin for another with a visibly different placement.
 */
#include "k8s_guest.h"

#ifndef DEFAULT_RULE
#define DEFAULT_RULE "pod-digit"
#endif

static int unschedulable(bytes node, const char *why, bytes detail) {
    builder b = builder_new();
    builder_add(&b, cstr("node "));
    builder_add(&b, node);
    builder_add(&b, cstr(why));
    builder_add(&b, detail);
    set_reason(&b);
    return STATUS_UNSCHEDULABLE;
}

static int error(const char *why) {
    builder b = builder_new();
    builder_add(&b, cstr(why));
    set_reason(&b);
    return STATUS_ERROR;
}

EXPORT("filter") int filter(void) {
    bytes config, pod, pod_name, node;
    arena_reset();
    if (fetch(k8s_get_config, &config)) return error("cannot read guestConfig");
    if (config.len == 0) config = cstr(DEFAULT_RULE);
    if (fetch(k8s_current_node_name, &node)) return error("cannot read currentNodeName");

    bytes prefix = cstr("suffix=");
    if (has_prefix(config, prefix)) {
        bytes suffix = {config.ptr + prefix.len, config.len - prefix.len};
        if (has_suffix(node, suffix)) return STATUS_SUCCESS;
        return unschedulable(node, " does not end with ", suffix);
    }

    int inverted = bytes_eq(config, cstr("not-pod-digit"));
    if (!inverted && !bytes_eq(config, cstr("pod-digit")))
        return error("unknown rule in guestConfig; use pod-digit, not-pod-digit or suffix=<text>");
    if (fetch(k8s_current_pod, &pod)) return error("cannot read currentPod");
    if (object_name(pod, &pod_name)) return error("currentPod has no metadata.name");
    if (pod_name.len == 0) return STATUS_SUCCESS;
    unsigned char last = pod_name.ptr[pod_name.len - 1];
    if (last < '0' || last > '9') return STATUS_SUCCESS;

    bytes digit = {pod_name.ptr + pod_name.len - 1, 1};
    int matches = has_suffix(node, digit);
    if (matches && !inverted) return STATUS_SUCCESS;
    if (!matches && inverted) return STATUS_SUCCESS;
    return unschedulable(node, inverted ? " ends with the pod's last digit " :
                                          " does not end with the pod's last digit ", digit);
}
