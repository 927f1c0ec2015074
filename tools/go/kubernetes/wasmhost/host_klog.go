package wasmhost

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	"k8s.io/klog/v2"
)

// Guest log severities (upstream: info 0, warning 1, error 2, fatal 3).
const (
	severityInfo int32 = iota
	severityWarning
	severityError
	severityFatal
)

// klogFuncs are k8s.io/klog: guest logging into the scheduler's log.
func (h *host) klogFuncs() []hostFunc {
	return []hostFunc{
		{"log", [2][]api.ValueType{{i32, i32, i32}, nil}, h.log},
		{"logs", [2][]api.ValueType{{i32, i32, i32, i32, i32}, nil}, h.logs},
		{"severity", [2][]api.ValueType{nil, {i32}}, h.severity},
	}
}

// log(severity, msg, msg_len) is logs without key-values.
func (h *host) log(_ context.Context, mod api.Module, stack []uint64) {
	h.write(mod.Memory(), stack, 0, 0)
}

// logs(severity, msg, msg_len, kvs, kvs_len): structured logging; kvs are NUL-terminated
// strings alternating key and value.
func (h *host) logs(_ context.Context, mod api.Module, stack []uint64) {
	h.write(mod.Memory(), stack, uint32(stack[3]), uint32(stack[4]))
}

// write logs a guest message unless its severity is below the configured logSeverity. A message
// the host cannot read is dropped rather than trapping the guest, as upstream does.
func (h *host) write(mem api.Memory, stack []uint64, kvsPtr, kvsLen uint32) {
	severity := int32(stack[0])
	if severity < h.logSeverity {
		return
	}
	msg, ok := mem.Read(uint32(stack[1]), uint32(stack[2]))
	if !ok {
		return
	}
	var kvs []any
	if kvsLen > 0 {
		raw, ok := mem.Read(kvsPtr, kvsLen)
		if !ok {
			return
		}
		for _, s := range splitNUL(raw) {
			kvs = append(kvs, s)
		}
	}
	h.emit(severity, string(msg), kvs)
}

// emit writes one guest message, tagged with the plugin name. A guest's "fatal" is logged as an
// error: a plugin must not be able to stop the scheduler.
func (h *host) emit(severity int32, msg string, kvs []any) {
	kvs = append([]any{"plugin", h.pluginName}, kvs...)
	switch severity {
	case severityInfo:
		klog.InfoS(msg, kvs...)
	case severityWarning:
		klog.InfoS("WARNING: "+msg, kvs...)
	default:
		klog.ErrorS(nil, msg, kvs...)
	}
}

func (h *host) severity(_ context.Context, _ api.Module, stack []uint64) {
	stack[0] = uint64(uint32(h.logSeverity))
}
