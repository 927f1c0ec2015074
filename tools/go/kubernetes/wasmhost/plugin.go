package wasmhost

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// Name is the plugin name from the scheduler configuration.
func (pl *wasmPlugin) Name() string { return pl.name }

// exports reports whether the guest exports a point.
func (pl *wasmPlugin) exports(p point) bool { return pl.points&p != 0 }

// everyEvent is what the framework assumes of a plugin without EnqueueExtensions.
var everyEvent = []framework.ClusterEventWithHint{
	{Event: framework.ClusterEvent{Resource: framework.WildCard, ActionType: framework.All}},
}

// EventsToRegister asks the guest's enqueue for the events that may make a rejected pod
// schedulable. Without an enqueue export, or when the guest names no event, every event
// counts, as upstream falls back to all events.
func (pl *wasmPlugin) EventsToRegister(ctx context.Context) ([]framework.ClusterEventWithHint, error) {
	if !pl.exports(pEnqueue) {
		return everyEvent, nil
	}
	st := &callState{}
	var callErr error
	err := pl.pool.withAnyGuest(ctx, func(g *guest) {
		_, callErr = g.call(withCallState(ctx, st), pEnqueue)
	})
	if err == nil {
		err = callErr
	}
	if err != nil {
		return nil, err
	}
	if len(st.clusterEvents) == 0 {
		return everyEvent, nil
	}
	events := make([]framework.ClusterEventWithHint, 0, len(st.clusterEvents))
	for _, e := range st.clusterEvents {
		events = append(events, framework.ClusterEventWithHint{Event: e})
	}
	return events, nil
}

// PreFilter starts a scheduling cycle. The guest may restrict the nodes with
// result.node_names.
func (pl *wasmPlugin) PreFilter(ctx context.Context, _ *framework.CycleState, pod *v1.Pod) (*framework.PreFilterResult, *framework.Status) {
	if !pl.exports(pPreFilter) {
		return nil, nil
	}
	st := &callState{currentPod: pod}
	var result *framework.PreFilterResult
	status := pl.scheduling(ctx, pod, st, pPreFilter, func(raw uint64) *framework.Status {
		if st.nodeNames != nil {
			result = &framework.PreFilterResult{NodeNames: sets.New(st.nodeNames...)}
		}
		return statusOf(raw, st.statusReason)
	})
	return result, status
}

// PreFilterExtensions is the plugin itself when the guest exports addpod or removepod.
func (pl *wasmPlugin) PreFilterExtensions() framework.PreFilterExtensions {
	if !pl.exports(pAddPod | pRemovePod) {
		return nil
	}
	return pl
}

// AddPod asks the guest whether the pod being scheduled fits with targetPod added to the node.
func (pl *wasmPlugin) AddPod(ctx context.Context, _ *framework.CycleState, podToSchedule *v1.Pod, podInfoToAdd *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	return pl.podChange(ctx, pAddPod, podToSchedule, podInfoToAdd, nodeInfo)
}

// RemovePod is AddPod for a pod taken off the node.
func (pl *wasmPlugin) RemovePod(ctx context.Context, _ *framework.CycleState, podToSchedule *v1.Pod, podInfoToRemove *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	return pl.podChange(ctx, pRemovePod, podToSchedule, podInfoToRemove, nodeInfo)
}

func (pl *wasmPlugin) podChange(ctx context.Context, p point, pod *v1.Pod, change *framework.PodInfo, nodeInfo *framework.NodeInfo) *framework.Status {
	if !pl.exports(p) {
		return nil
	}
	st := &callState{currentPod: pod, targetPod: change.Pod, currentNodeName: nodeName(nodeInfo)}
	return pl.scheduling(ctx, pod, st, p, func(raw uint64) *framework.Status {
		return statusOf(raw, st.statusReason)
	})
}

// Filter asks the guest whether the pod fits currentNodeName.
func (pl *wasmPlugin) Filter(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, nodeInfo *framework.NodeInfo) *framework.Status {
	st := &callState{currentPod: pod, currentNodeName: nodeName(nodeInfo)}
	return pl.scheduling(ctx, pod, st, pFilter, func(raw uint64) *framework.Status {
		return statusOf(raw, st.statusReason)
	})
}

// PostFilter runs when no node fits. postfilter returns the nominating mode in the high 32
// bits and the status code in the low 32 bits; the nominated node comes from
// result.nominated_node_name. Without a postfilter export the plugin rejects without a reason,
// which lets the framework go on to the other PostFilter plugins.
func (pl *wasmPlugin) PostFilter(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, statuses framework.NodeToStatusReader) (*framework.PostFilterResult, *framework.Status) {
	if !pl.exports(pPostFilter) {
		return nil, framework.NewStatus(framework.Unschedulable)
	}
	st := &callState{currentPod: pod, nodeToStatus: statuses}
	var result *framework.PostFilterResult
	status := pl.scheduling(ctx, pod, st, pPostFilter, func(raw uint64) *framework.Status {
		result = &framework.PostFilterResult{NominatingInfo: &framework.NominatingInfo{
			NominatedNodeName: st.nominatedNodeName,
			NominatingMode:    framework.NominatingMode(int32(raw >> 32)),
		}}
		return statusOf(uint64(uint32(raw)), st.statusReason)
	})
	return result, status
}

// PreScore hands the guest the nodes that passed filtering (filteredNodeList).
func (pl *wasmPlugin) PreScore(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if !pl.exports(pPreScore) {
		return nil
	}
	st := &callState{currentPod: pod, filteredNodes: nodes}
	return pl.scheduling(ctx, pod, st, pPreScore, func(raw uint64) *framework.Status {
		return statusOf(raw, st.statusReason)
	})
}

// Score: score returns the score in the high 32 bits (signed) and the status code in the low.
func (pl *wasmPlugin) Score(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	st := &callState{currentPod: pod, currentNodeName: nodeName(nodeInfo)}
	var score int64
	status := pl.scheduling(ctx, pod, st, pScore, func(raw uint64) *framework.Status {
		score = int64(int32(raw >> 32))
		return statusOf(uint64(uint32(raw)), st.statusReason)
	})
	return score, status
}

// ScoreExtensions is the plugin itself when the guest exports normalizescore.
func (pl *wasmPlugin) ScoreExtensions() framework.ScoreExtensions {
	if !pl.exports(pNormalizeScore) {
		return nil
	}
	return pl
}

// NormalizeScore gives the guest the scores (nodeScoreList) and takes back the ones it sets
// with result.normalized_score_list, matched by node name.
func (pl *wasmPlugin) NormalizeScore(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	st := &callState{currentPod: pod, nodeScores: scores}
	return pl.scheduling(ctx, pod, st, pNormalizeScore, func(raw uint64) *framework.Status {
		if status := statusOf(raw, st.statusReason); !status.IsSuccess() {
			return status
		}
		return applyNormalizedScores(scores, st.normalizedScores)
	})
}

func applyNormalizedScores(scores framework.NodeScoreList, normalized map[string]int64) *framework.Status {
	index := make(map[string]int, len(scores))
	for i, s := range scores {
		index[s.Name] = i
	}
	for name, score := range normalized {
		i, ok := index[name]
		if !ok {
			return framework.AsStatus(fmt.Errorf("wasm: normalizescore returned a score for node %q, which was not scored", name))
		}
		scores[i].Score = score
	}
	return nil
}

// Reserve runs at the end of the scheduling cycle on the scheduling guest.
func (pl *wasmPlugin) Reserve(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	if !pl.exports(pReserve) {
		return nil
	}
	st := &callState{currentPod: pod, currentNodeName: node}
	return pl.scheduling(ctx, pod, st, pReserve, func(raw uint64) *framework.Status {
		return statusOf(raw, st.statusReason)
	})
}

// Unreserve ends a failed cycle, on the pod's binding guest if it has one. It returns nothing
// to the framework, so a guest failure is only logged.
func (pl *wasmPlugin) Unreserve(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) {
	defer pl.pool.release(ctx, pod.UID)
	if !pl.exports(pUnreserve) {
		return
	}
	run := pl.pool.withSchedulingGuest
	if pl.pool.holdsBinding(pod.UID) {
		run = pl.pool.withBindingGuest
	}
	pl.notify(ctx, run, pod, node, pUnreserve)
}

// Permit: permit returns the status code in the high 32 bits and the wait timeout in
// milliseconds in the low 32 bits.
func (pl *wasmPlugin) Permit(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) (*framework.Status, time.Duration) {
	st := &callState{currentPod: pod, currentNodeName: node}
	var timeout time.Duration
	decode := func(raw uint64) *framework.Status {
		timeout = time.Duration(uint32(raw)) * time.Millisecond
		return statusOf(uint64(uint32(raw>>32)), st.statusReason)
	}
	// The scheduling guest goes with the pod into the binding cycle only if the plugin takes
	// part in it (binds); otherwise nothing would ever hand it back.
	if !pl.exports(pBind) {
		return pl.scheduling(ctx, pod, st, pPermit, decode), timeout
	}
	status := pl.binding(ctx, pod, st, pPermit, decode)
	if !status.IsSuccess() && !status.IsWait() {
		pl.pool.release(ctx, pod.UID)
	}
	return status, timeout
}

// PreBind runs in the binding cycle on the pod's binding guest.
func (pl *wasmPlugin) PreBind(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	if !pl.exports(pPreBind) {
		return nil
	}
	return pl.bindingStep(ctx, pod, node, pPreBind)
}

// Bind binds the pod; a guest returning Skip leaves binding to the next bind plugin.
func (pl *wasmPlugin) Bind(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	return pl.bindingStep(ctx, pod, node, pBind)
}

// bindingStep runs a binding-cycle export; a failure ends the pod's binding cycle.
func (pl *wasmPlugin) bindingStep(ctx context.Context, pod *v1.Pod, node string, p point) *framework.Status {
	st := &callState{currentPod: pod, currentNodeName: node}
	status := pl.binding(ctx, pod, st, p, func(raw uint64) *framework.Status {
		return statusOf(raw, st.statusReason)
	})
	if !status.IsSuccess() && !status.IsSkip() {
		pl.pool.release(ctx, pod.UID)
	}
	return status
}

// PostBind ends a successful binding cycle and frees the pod's guest.
func (pl *wasmPlugin) PostBind(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) {
	defer pl.pool.release(ctx, pod.UID)
	if !pl.exports(pPostBind) {
		return
	}
	pl.notify(ctx, pl.pool.withBindingGuest, pod, node, pPostBind)
}

// notify runs an export whose outcome the framework does not take (unreserve, postbind); a
// failure is only logged.
func (pl *wasmPlugin) notify(ctx context.Context, run func(context.Context, types.UID, func(*guest)) error, pod *v1.Pod, node string, p point) {
	st := &callState{currentPod: pod, currentNodeName: node}
	var callErr error
	err := run(ctx, pod.UID, func(g *guest) { _, callErr = g.call(withCallState(ctx, st), p) })
	if err == nil {
		err = callErr
	}
	if err != nil {
		klog.FromContext(ctx).Error(err, "wasm guest failed", "plugin", pl.name, "export", exportName(p))
	}
}

// scheduling calls an export on the scheduling guest and decodes its result.
func (pl *wasmPlugin) scheduling(ctx context.Context, pod *v1.Pod, st *callState, p point, decode func(uint64) *framework.Status) *framework.Status {
	return pl.invoke(ctx, st, p, decode, func(fn func(*guest)) error {
		return pl.pool.withSchedulingGuest(ctx, pod.UID, fn)
	})
}

// binding calls an export on the pod's binding guest and decodes its result.
func (pl *wasmPlugin) binding(ctx context.Context, pod *v1.Pod, st *callState, p point, decode func(uint64) *framework.Status) *framework.Status {
	return pl.invoke(ctx, st, p, decode, func(fn func(*guest)) error {
		return pl.pool.withBindingGuest(ctx, pod.UID, fn)
	})
}

func (pl *wasmPlugin) invoke(ctx context.Context, st *callState, p point, decode func(uint64) *framework.Status, on func(func(*guest)) error) *framework.Status {
	var status *framework.Status
	err := on(func(g *guest) {
		raw, err := g.call(withCallState(ctx, st), p)
		if err != nil {
			status = framework.AsStatus(err)
			return
		}
		status = decode(raw)
	})
	if err != nil {
		return framework.AsStatus(err)
	}
	return status
}

// statusOf builds the framework status from a guest's code and reason. A code the framework
// does not know is an error (the framework would panic printing it).
func statusOf(raw uint64, reason string) *framework.Status {
	code := int32(uint32(raw))
	if code < int32(framework.Success) || code > int32(framework.Pending) {
		return framework.AsStatus(fmt.Errorf("wasm: guest returned unknown status code %d", code))
	}
	if code == int32(framework.Success) && reason == "" {
		return nil
	}
	if reason == "" {
		return framework.NewStatus(framework.Code(code))
	}
	return framework.NewStatus(framework.Code(code), reason)
}

func nodeName(ni *framework.NodeInfo) string {
	if ni == nil || ni.Node() == nil {
		return ""
	}
	return ni.Node().Name
}
