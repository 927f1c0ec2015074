package wasmhost

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tetratelabs/wazero/api"
	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// schedulerGetters are the k8s.io/scheduler functions that hand the guest its inputs.
func (h *host) schedulerGetters() []hostFunc {
	return []hostFunc{
		{"get_config", sigGetter, h.getConfig},
		{"currentPod", sigGetter, podGetter(func(s *callState) *v1.Pod { return s.currentPod })},
		{"targetPod", sigGetter, podGetter(func(s *callState) *v1.Pod { return s.targetPod })},
		{"currentNodeName", sigGetter, h.currentNodeName},
		{"filteredNodeList", sigGetter, h.filteredNodeList},
		{"nodeImageStates", sigNamedGetter, h.nodeImageStates},
		{"nodeToStatusMap", sigGetter, h.nodeToStatusMap},
		{"nodeScoreList", sigGetter, h.nodeScoreList},
	}
}

func (h *host) getConfig(_ context.Context, mod api.Module, stack []uint64) {
	stack[0] = uint64(writeIfFits(mod.Memory(), uint32(stack[0]), uint32(stack[1]),
		[]byte(h.guestConfig)))
}

func podGetter(pick func(*callState) *v1.Pod) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		pod := pick(callStateFrom(ctx))
		stack[0] = uint64(marshalIfFits(mod.Memory(), uint32(stack[0]), uint32(stack[1]), pod))
	}
}

func (h *host) currentNodeName(ctx context.Context, mod api.Module, stack []uint64) {
	name := callStateFrom(ctx).currentNodeName
	stack[0] = uint64(writeIfFits(mod.Memory(), uint32(stack[0]), uint32(stack[1]), []byte(name)))
}

// filteredNodeList is a JSON array of the names of PreScore's nodes.
func (h *host) filteredNodeList(ctx context.Context, mod api.Module, stack []uint64) {
	nodes := callStateFrom(ctx).filteredNodes
	names := make([]string, 0, len(nodes))
	for _, ni := range nodes {
		if n := ni.Node(); n != nil {
			names = append(names, n.Name)
		}
	}
	writeJSON(mod, stack, names)
}

// nodeImageStates(name, name_len, buf, limit) is a JSON object of the node's image states in
// the snapshot ("null" for an unknown node).
func (h *host) nodeImageStates(_ context.Context, mod api.Module, stack []uint64) {
	name := string(readGuestBytes(mod.Memory(), uint32(stack[0]), uint32(stack[1]), "node name"))
	var states map[string]*framework.ImageStateSummary
	if ni := h.nodeInfo(name); ni != nil {
		states = ni.ImageStates
	}
	writeJSON(mod, stack[2:], states)
	stack[0] = stack[2]
}

// nodeToStatusMap is a JSON object of node name to status code for PostFilter. Nodes the
// framework keeps implicitly (its "absent nodes status") are listed with that code, so the
// guest sees every node of the snapshot as upstream's plain map showed it.
func (h *host) nodeToStatusMap(ctx context.Context, mod api.Module, stack []uint64) {
	reader := callStateFrom(ctx).nodeToStatus
	codes := map[string]int{}
	if reader != nil {
		if explicit, ok := reader.(*framework.NodeToStatus); ok {
			explicit.ForEachExplicitNode(func(name string, st *framework.Status) {
				codes[name] = int(st.Code())
			})
		}
		if lister := h.nodeInfos(); lister != nil {
			infos, err := lister.List()
			if err != nil {
				panic(err)
			}
			for _, ni := range infos {
				if n := ni.Node(); n != nil {
					codes[n.Name] = int(reader.Get(n.Name).Code())
				}
			}
		}
	}
	writeJSON(mod, stack, codes)
}

// nodeScoreList is a JSON object of node name to score for NormalizeScore.
func (h *host) nodeScoreList(ctx context.Context, mod api.Module, stack []uint64) {
	scores := map[string]int64{}
	for _, s := range callStateFrom(ctx).nodeScores {
		scores[s.Name] = s.Score
	}
	writeJSON(mod, stack, scores)
}

// writeJSON answers a getter(buf, limit) with a JSON value.
func writeJSON(mod api.Module, stack []uint64, value any) {
	b, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("wasm: encoding for the guest: %v", err))
	}
	stack[0] = uint64(writeIfFits(mod.Memory(), uint32(stack[0]), uint32(stack[1]), b))
}
