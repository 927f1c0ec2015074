package wasmhost

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// callState carries the arguments and results of one guest call. WebAssembly functions take
// numbers only, so the guest pulls arguments and pushes results through host functions, which
// find this state in the call's context.
type callState struct {
	// currentPod is the pod being scheduled (k8s.io/scheduler.currentPod).
	currentPod *v1.Pod
	// targetPod is the pod added or removed in AddPod/RemovePod (k8s.io/scheduler.targetPod).
	targetPod *v1.Pod
	// currentNodeName is the node being evaluated (k8s.io/scheduler.currentNodeName).
	currentNodeName string
	// filteredNodes are PreScore's nodes (k8s.io/scheduler.filteredNodeList).
	filteredNodes []*framework.NodeInfo
	// nodeToStatus is PostFilter's input (k8s.io/scheduler.nodeToStatusMap).
	nodeToStatus framework.NodeToStatusReader
	// nodeScores is NormalizeScore's input (k8s.io/scheduler.nodeScoreList).
	nodeScores framework.NodeScoreList

	// Results the guest sets with k8s.io/scheduler.result.*.
	statusReason      string
	clusterEvents     []framework.ClusterEvent
	nodeNames         []string
	nominatedNodeName string
	normalizedScores  map[string]int64
}

type callStateKey struct{}

func withCallState(ctx context.Context, s *callState) context.Context {
	return context.WithValue(ctx, callStateKey{}, s)
}

// callStateFrom returns the state of the current call. Host functions also run outside a call
// (from the guest's _start); they then see an empty state of their own.
func callStateFrom(ctx context.Context) *callState {
	if s, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return s
	}
	return &callState{}
}
