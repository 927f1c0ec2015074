package wasmhost

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/tetratelabs/wazero/api"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// schedulerResultsAndHandle are the k8s.io/scheduler functions through which the guest returns
// results other than its status code, and reaches the framework handle.
func (h *host) schedulerResultsAndHandle() []hostFunc {
	return []hostFunc{
		{"result.status_reason", sigSetter, resultStatusReason},
		{"result.cluster_events", sigSetter, setter("clusterEvents", setClusterEvents)},
		{"result.node_names", sigSetter, setter("nodeNames", setNodeNames)},
		{"result.nominated_node_name", sigSetter, setter("nominatedNodeName", setNominatedNodeName)},
		{"result.normalized_score_list", sigSetter, setter("normalized scores", setNormalizedScores)},
		{"handle.eventrecorder.eventf", sigSetter, h.eventf},
		{"handle.reject_waiting_pod", sigRequest, h.rejectWaitingPod},
		{"handle.get_waiting_pod", sigRequest, h.getWaitingPod},
	}
}

// resultStatusReason is the reason of the status the current export returns. An unreadable
// reason becomes a marker instead of a trap, as upstream does.
func resultStatusReason(ctx context.Context, mod api.Module, stack []uint64) {
	reason, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		callStateFrom(ctx).statusReason = "BUG: out of memory reading message"
		return
	}
	callStateFrom(ctx).statusReason = string(reason)
}

// setter decodes what the guest passes in (buf, len) into the call state.
func setter(what string, apply func(*callState, []byte)) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		apply(callStateFrom(ctx), readGuestBytes(mod.Memory(), uint32(stack[0]), uint32(stack[1]), what))
	}
}

// setClusterEvents takes enqueue's events: 8 bytes each, gvk and action as uint32 LE.
func setClusterEvents(s *callState, b []byte) { s.clusterEvents = decodeClusterEvents(b) }

// setNodeNames takes prefilter's node names, NUL-terminated.
func setNodeNames(s *callState, b []byte) { s.nodeNames = splitNUL(b) }

func setNominatedNodeName(s *callState, b []byte) { s.nominatedNodeName = string(b) }

// setNormalizedScores takes normalizescore's scores: a JSON object of node name to score.
func setNormalizedScores(s *callState, b []byte) {
	scores := map[string]int64{}
	if err := json.Unmarshal(b, &scores); err != nil {
		panic(fmt.Sprintf("wasm: normalized score list is not a JSON object of scores: %v", err))
	}
	s.normalizedScores = scores
}

// objectReference and eventMessage are the JSON the guest sends to eventf (upstream's
// EventMessage; Go field names, no tags).
type objectReference struct {
	Kind, APIVersion, Name, Namespace, UID, ResourceVersion string
}

type eventMessage struct {
	RegardingReference, RelatedReference objectReference
	Eventtype, Reason, Action, Note      string
}

func (r objectReference) toV1() *v1.ObjectReference {
	return &v1.ObjectReference{
		Kind: r.Kind, APIVersion: r.APIVersion, Name: r.Name, Namespace: r.Namespace,
		UID: types.UID(r.UID), ResourceVersion: r.ResourceVersion,
	}
}

// eventf records an event through the framework handle's event recorder.
func (h *host) eventf(_ context.Context, mod api.Module, stack []uint64) {
	b := readGuestBytes(mod.Memory(), uint32(stack[0]), uint32(stack[1]), "event")
	var msg eventMessage
	if err := json.Unmarshal(b, &msg); err != nil {
		panic(fmt.Sprintf("wasm: event is not the eventf JSON message: %v", err))
	}
	if h.handle == nil || h.handle.EventRecorder() == nil {
		return
	}
	var related *v1.ObjectReference
	if msg.RelatedReference != (objectReference{}) {
		related = msg.RelatedReference.toV1()
	}
	// The note is passed as an argument, never as the format string: a guest's "%" must not
	// be interpreted.
	h.handle.EventRecorder().Eventf(msg.RegardingReference.toV1(), related, msg.Eventtype,
		msg.Reason, msg.Action, "%s", msg.Note)
}

// rejectWaitingPod(uid, uid_len, buf, limit) rejects a pod waiting on Permit and writes 1
// (rejected) or 0 as a little-endian uint64 into buf when 8 bytes fit.
func (h *host) rejectWaitingPod(_ context.Context, mod api.Module, stack []uint64) {
	uid := types.UID(readGuestBytes(mod.Memory(), uint32(stack[0]), uint32(stack[1]), "uid"))
	var rejected uint64
	if h.handle != nil && h.handle.RejectWaitingPod(uid) {
		rejected = 1
	}
	out := binary.LittleEndian.AppendUint64(nil, rejected)
	writeIfFits(mod.Memory(), uint32(stack[2]), uint32(stack[3]), out)
}

// getWaitingPod(uid, uid_len, buf, limit) writes the waiting pod as v1.Pod protobuf into buf
// when it fits; nothing is written for a pod that is not waiting.
func (h *host) getWaitingPod(_ context.Context, mod api.Module, stack []uint64) {
	uid := types.UID(readGuestBytes(mod.Memory(), uint32(stack[0]), uint32(stack[1]), "uid"))
	if h.handle == nil {
		return
	}
	if wp := h.handle.GetWaitingPod(uid); wp != nil {
		marshalIfFits(mod.Memory(), uint32(stack[2]), uint32(stack[3]), wp.GetPod())
	}
}
