/*
 * Minimal guest-side helpers for wasmgate's C test plugins (clang --target=wasm32, no libc).
 *
 * Declares the kube-scheduler-wasm-extension host functions the plugins use, a reader for the
 * protobuf wire format (pods and nodes arrive as Kubernetes protobuf), and the buf/limit retry
 * protocol: a host getter writes only when the value fits and returns the length it needs.
 */
#ifndef WASMGATE_K8S_GUEST_H
#define WASMGATE_K8S_GUEST_H

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

typedef unsigned int u32;
typedef unsigned long long u64;

IMPORT("k8s.io/scheduler", "get_config") u32 k8s_get_config(void *buf, u32 limit);
IMPORT("k8s.io/scheduler", "currentPod") u32 k8s_current_pod(void *buf, u32 limit);
IMPORT("k8s.io/scheduler", "currentNodeName") u32 k8s_current_node_name(void *buf, u32 limit);
IMPORT("k8s.io/scheduler", "result.status_reason") void k8s_status_reason(const void *buf, u32 len);
IMPORT("k8s.io/scheduler", "result.node_names") void k8s_result_node_names(const void *buf, u32 len);
IMPORT("k8s.io/api", "node") u32 k8s_node(const void *name, u32 name_len, void *buf, u32 limit);
IMPORT("k8s.io/api", "nodeList") u32 k8s_node_list(void *buf, u32 limit);
IMPORT("k8s.io/klog", "log") void klog_log(int severity, const void *msg, u32 len);

enum { STATUS_SUCCESS = 0, STATUS_ERROR = 1, STATUS_UNSCHEDULABLE = 2 };

/* clang may emit calls to these even without libc. */
void *memcpy(void *dst, const void *src, unsigned long n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, unsigned long n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

/* A bump arena reset at the start of every exported call. */
static unsigned char arena[256 * 1024];
static u32 arena_used;

static inline void arena_reset(void) { arena_used = 0; }

typedef struct {
    const unsigned char *ptr;
    u32 len;
} bytes;

/* Deliberately small first guess, so every fetch exercises the host's retry protocol. */
#define FIRST_LIMIT 16

typedef u32 (*getter)(void *buf, u32 limit);

static inline int fetch(getter get, bytes *out) {
    unsigned char *buf = arena + arena_used;
    u32 room = sizeof arena - arena_used;
    u32 need = get(buf, FIRST_LIMIT < room ? FIRST_LIMIT : room);
    if (need > FIRST_LIMIT) {
        if (need > room) return -1;
        if (get(buf, need) != need) return -1;
    }
    arena_used += need;
    out->ptr = buf;
    out->len = need;
    return 0;
}

static inline int fetch_node(bytes name, bytes *out) {
    unsigned char *buf = arena + arena_used;
    u32 room = sizeof arena - arena_used;
    u32 need = k8s_node(name.ptr, name.len, buf, FIRST_LIMIT < room ? FIRST_LIMIT : room);
    if (need > FIRST_LIMIT) {
        if (need > room) return -1;
        if (k8s_node(name.ptr, name.len, buf, need) != need) return -1;
    }
    arena_used += need;
    out->ptr = buf;
    out->len = need;
    return 0;
}

static inline u32 cstrlen(const char *s) {
    u32 n = 0;
    while (s[n]) n++;
    return n;
}

static inline bytes cstr(const char *s) {
    bytes b = {(const unsigned char *)s, cstrlen(s)};
    return b;
}

static inline int bytes_eq(bytes a, bytes b) {
    if (a.len != b.len) return 0;
    for (u32 i = 0; i < a.len; i++)
        if (a.ptr[i] != b.ptr[i]) return 0;
    return 1;
}

static inline int has_prefix(bytes s, bytes prefix) {
    if (prefix.len > s.len) return 0;
    bytes head = {s.ptr, prefix.len};
    return bytes_eq(head, prefix);
}

static inline int has_suffix(bytes s, bytes suffix) {
    if (suffix.len > s.len) return 0;
    bytes tail = {s.ptr + s.len - suffix.len, suffix.len};
    return bytes_eq(tail, suffix);
}

/* A growable message in the arena, for status reasons and result lists. */
typedef struct {
    unsigned char *ptr;
    u32 len;
} builder;

static inline builder builder_new(void) {
    builder b = {arena + arena_used, 0};
    return b;
}

static inline void builder_add(builder *b, bytes s) {
    if (arena_used + b->len + s.len > sizeof arena) return;
    memcpy(b->ptr + b->len, s.ptr, s.len);
    b->len += s.len;
}

static inline void builder_done(builder *b) { arena_used += b->len; }

static inline void set_reason(builder *b) {
    builder_done(b);
    k8s_status_reason(b->ptr, b->len);
}

/* Protobuf wire format: just enough to walk messages and pick fields. */
typedef struct {
    u32 number;
    u32 wire;
    u64 value;  /* varint fields */
    bytes data; /* length-delimited fields */
} pb_field;

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} pb_reader;

static inline pb_reader pb_open(bytes msg) {
    pb_reader r = {msg.ptr, msg.ptr + msg.len};
    return r;
}

static inline int pb_varint(pb_reader *r, u64 *out) {
    u64 v = 0;
    for (u32 shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        v |= (u64)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* 1: a field was read; 0: end of message; -1: malformed. */
static inline int pb_next(pb_reader *r, pb_field *f) {
    u64 key, len;
    if (r->p >= r->end) return 0;
    if (pb_varint(r, &key)) return -1;
    f->number = (u32)(key >> 3);
    f->wire = (u32)(key & 7);
    switch (f->wire) {
    case 0:
        return pb_varint(r, &f->value) ? -1 : 1;
    case 1:
        if (r->end - r->p < 8) return -1;
        r->p += 8;
        return 1;
    case 2:
        if (pb_varint(r, &len) || (u64)(r->end - r->p) < len) return -1;
        f->data.ptr = r->p;
        f->data.len = (u32)len;
        r->p += len;
        return 1;
    case 5:
        if (r->end - r->p < 4) return -1;
        r->p += 4;
        return 1;
    default:
        return -1;
    }
}

/* The first length-delimited field `number` of `msg`; 0 when found. */
static inline int pb_get(bytes msg, u32 number, bytes *out) {
    pb_reader r = pb_open(msg);
    pb_field f;
    int more;
    while ((more = pb_next(&r, &f)) == 1)
        if (f.number == number && f.wire == 2) {
            *out = f.data;
            return 0;
        }
    return -1;
}

/* ObjectMeta{name=1, labels=11} inside Pod/Node{metadata=1}. */
static inline int object_name(bytes object, bytes *name) {
    bytes meta;
    if (pb_get(object, 1, &meta)) return -1;
    return pb_get(meta, 1, name);
}

static inline int object_label(bytes object, bytes key, bytes *value) {
    bytes meta;
    if (pb_get(object, 1, &meta)) return -1;
    pb_reader r = pb_open(meta);
    pb_field f;
    while (pb_next(&r, &f) == 1) {
        bytes k, v;
        if (f.number != 11 || f.wire != 2) continue;
        if (pb_get(f.data, 1, &k)) continue;
        if (!bytes_eq(k, key)) continue;
        if (pb_get(f.data, 2, &v)) v.len = 0, v.ptr = f.data.ptr;
        *value = v;
        return 0;
    }
    return -1;
}

#endif
