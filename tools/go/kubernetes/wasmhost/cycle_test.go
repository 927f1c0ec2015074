package wasmhost

import (
	"context"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// A whole scheduling and binding cycle through the framework, with a guest that exports every
// point (testdata/every_point.wat): each result the guest gives reaches the framework.
func TestEveryPointThroughSchedulingAndBindingCycle(t *testing.T) {
	nodes := []*framework.NodeInfo{nodeInfoOf(testNode("node-a")), nodeInfoOf(testNode("node-b"))}
	tf := mustTestFramework(t, "every_point", frameworkSetup{
		nodes: []*v1.Node{testNode("node-a"), testNode("node-b"), testNode("node-c")},
	})
	ctx := context.Background()
	state := framework.NewCycleState()
	pod := testPod("p1")

	preFilter, status, _ := tf.RunPreFilterPlugins(ctx, state, pod)
	if !status.IsSuccess() {
		t.Fatalf("PreFilter: %v", status)
	}
	if want := sets.New("node-a", "node-b"); preFilter == nil || !preFilter.NodeNames.Equal(want) {
		t.Errorf("PreFilter nodes = %v, want %v", preFilter, sets.List(want))
	}

	for _, ni := range nodes {
		if status := tf.RunFilterPlugins(ctx, state, pod, ni); !status.IsSuccess() {
			t.Errorf("Filter %s: %v", ni.Node().Name, status)
		}
	}

	if status := tf.RunPreScorePlugins(ctx, state, pod, nodes); !status.IsSuccess() {
		t.Fatalf("PreScore: %v", status)
	}
	scores, status := tf.RunScorePlugins(ctx, state, pod, nodes)
	if !status.IsSuccess() {
		t.Fatalf("Score: %v", status)
	}
	// Raw scores are 0 (node-a) and 10 (node-b); normalizescore turns them into 100 and 0.
	if got, want := totals(scores), map[string]int64{"node-a": 100, "node-b": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("normalized scores = %v, want %v", got, want)
	}

	steps := []struct {
		name string
		run  func(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status
	}{
		{"Reserve", tf.RunReservePluginsReserve},
		{"Permit", tf.RunPermitPlugins},
		{"PreBind", tf.RunPreBindPlugins},
		{"Bind", tf.RunBindPlugins},
	}
	for _, step := range steps {
		if status := step.run(ctx, state, pod, "node-a"); !status.IsSuccess() {
			t.Errorf("%s: %v", step.name, status)
		}
	}
	pool := tf.plugin.(basePlugin).plugin().pool
	if !pool.holdsBinding(pod.UID) {
		t.Error("the scheduling guest did not follow the pod into the binding cycle")
	}
	tf.RunPostBindPlugins(ctx, state, pod, "node-a")
	if pool.holdsBinding(pod.UID) {
		t.Error("the pod's binding guest was not freed after PostBind")
	}
}

// PostFilter: the guest nominates node-b with mode override and stays Unschedulable.
func TestPostFilterNominatesThroughFramework(t *testing.T) {
	tf := mustTestFramework(t, "every_point", frameworkSetup{nodes: []*v1.Node{testNode("node-a")}})
	ctx := context.Background()
	result, status := tf.RunPostFilterPlugins(ctx, framework.NewCycleState(), testPod("p1"),
		framework.NewDefaultNodeToStatus())
	if status.Code() != framework.Unschedulable {
		t.Errorf("PostFilter code = %v, want Unschedulable", status.Code())
	}
	if result == nil || result.NominatedNodeName != "node-b" || result.Mode() != framework.ModeOverride {
		t.Errorf("PostFilter result = %+v, want node-b nominated with ModeOverride", result)
	}
}

// enqueue's events become the plugin's EventsToRegister, resource and action translated.
func TestEnqueueEventsToRegister(t *testing.T) {
	tf := mustTestFramework(t, "every_point", frameworkSetup{})
	events, err := tf.plugin.(framework.EnqueueExtensions).EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []framework.ClusterEvent
	for _, e := range events {
		got = append(got, e.Event)
	}
	want := []framework.ClusterEvent{
		{Resource: framework.Node, ActionType: framework.Add},
		{Resource: framework.Pod, ActionType: framework.All},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func totals(scores []framework.NodePluginScores) map[string]int64 {
	out := map[string]int64{}
	for _, s := range scores {
		out[s.Name] = s.TotalScore
	}
	return out
}

// A cycle that fails after Permit ends in Unreserve, which runs on the pod's binding guest and
// frees it.
func TestUnreserveFreesTheBindingGuest(t *testing.T) {
	tf := mustTestFramework(t, "every_point", frameworkSetup{nodes: []*v1.Node{testNode("node-a")}})
	ctx := context.Background()
	state := framework.NewCycleState()
	pod := testPod("p1")
	if status := tf.RunPermitPlugins(ctx, state, pod, "node-a"); !status.IsSuccess() {
		t.Fatalf("Permit: %v", status)
	}
	pool := tf.plugin.(basePlugin).plugin().pool
	if !pool.holdsBinding(pod.UID) {
		t.Fatal("Permit did not hand the guest to the binding cycle")
	}
	tf.RunReservePluginsUnreserve(ctx, state, pod, "node-a")
	if pool.holdsBinding(pod.UID) || len(pool.free) != 1 {
		t.Errorf("after Unreserve: binding held %v, %d free guests, want none held and 1 free",
			pool.holdsBinding(pod.UID), len(pool.free))
	}
}
