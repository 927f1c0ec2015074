/*
 * Valid prefilter plugin: narrows scheduling to the nodes of one zone by returning their names
 * (k8s.io/scheduler.result.node_names, NUL-separated). The zone is the plugin's guestConfig, by
 * default "zone-a". Walks k8s.io/api.nodeList (a protobuf v1.NodeList, items = field 2).
 */
#include "k8s_guest.h"

EXPORT("prefilter") int prefilter(void) {
    bytes zone, list;
    arena_reset();
    if (fetch(k8s_get_config, &zone) || fetch(k8s_node_list, &list)) {
        k8s_status_reason("cannot read inputs", 18);
        return STATUS_ERROR;
    }
    if (zone.len == 0) zone = cstr("zone-a");
    bytes zone_key = cstr("topology.kubernetes.io/zone");
    builder names = builder_new();
    u32 count = 0;
    pb_reader r = pb_open(list);
    pb_field item;
    while (pb_next(&r, &item) == 1) {
        bytes name, node_zone;
        if (item.number != 2 || item.wire != 2) continue;
        if (object_name(item.data, &name)) continue;
        if (object_label(item.data, zone_key, &node_zone) || !bytes_eq(node_zone, zone)) continue;
        builder_add(&names, name);
        builder_add(&names, (bytes){(const unsigned char *)"", 1});
        count++;
    }
    builder_done(&names);
    if (count == 0) {
        k8s_status_reason("no node in the configured zone", 30);
        return STATUS_UNSCHEDULABLE;
    }
    k8s_result_node_names(names.ptr, names.len);
    klog_log(0, "prefilter narrowed the nodes to one zone", 40);
    return STATUS_SUCCESS;
}
