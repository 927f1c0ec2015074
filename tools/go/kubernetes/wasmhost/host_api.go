package wasmhost

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// apiFuncs are k8s.io/api: nodes of the scheduler's snapshot, as v1.Node / v1.NodeList protobuf.
func (h *host) apiFuncs() []hostFunc {
	return []hostFunc{
		{"node", sigNamedGetter, h.node},
		{"nodeList", sigGetter, h.nodeList},
	}
}

// nodeInfos is the snapshot lister, or nil outside a scheduler (unit tests without one).
func (h *host) nodeInfos() framework.NodeInfoLister {
	if h.handle == nil || h.handle.SnapshotSharedLister() == nil {
		return nil
	}
	return h.handle.SnapshotSharedLister().NodeInfos()
}

// nodeInfo returns the snapshot's NodeInfo of a node, or nil when it is unknown.
func (h *host) nodeInfo(name string) *framework.NodeInfo {
	lister := h.nodeInfos()
	if lister == nil {
		return nil
	}
	ni, err := lister.Get(name)
	if err != nil {
		return nil
	}
	return ni
}

func (h *host) node(_ context.Context, mod api.Module, stack []uint64) {
	name := string(readGuestBytes(mod.Memory(), uint32(stack[0]), uint32(stack[1]), "node name"))
	var node *v1.Node
	if ni := h.nodeInfo(name); ni != nil {
		node = ni.Node()
	}
	stack[0] = uint64(marshalIfFits(mod.Memory(), uint32(stack[2]), uint32(stack[3]), node))
}

func (h *host) nodeList(_ context.Context, mod api.Module, stack []uint64) {
	list := &v1.NodeList{}
	if lister := h.nodeInfos(); lister != nil {
		infos, err := lister.List()
		if err != nil {
			panic(err)
		}
		for _, ni := range infos {
			if n := ni.Node(); n != nil {
				list.Items = append(list.Items, *n)
			}
		}
	}
	stack[0] = uint64(marshalIfFits(mod.Memory(), uint32(stack[0]), uint32(stack[1]), list))
}
