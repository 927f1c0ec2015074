package wasmhost

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// What the host hands the guest, byte for byte. testdata/echo_inputs.wat returns each input as
// its status reason.
func TestHostFunctionsHandTheGuestItsInputs(t *testing.T) {
	nodeA, nodeB := testNode("node-a"), testNode("node-b")
	tf := mustTestFramework(t, "echo_inputs", frameworkSetup{
		nodes: []*v1.Node{nodeA, nodeB}, guestConfig: "suffix=wasm",
	})
	pl := tf.plugin.(basePlugin).plugin()
	ctx := context.Background()
	state := framework.NewCycleState()
	pod, other := testPod("p1"), testPod("other")

	_, status := pl.PreFilter(ctx, state, pod)
	wantEcho(t, "currentPod (prefilter)", status, marshal(t, pod))

	status = pl.Filter(ctx, state, pod, nodeInfoOf(nodeB))
	wantEcho(t, "currentNodeName (filter)", status, "node-b")

	status = pl.AddPod(ctx, state, pod, &framework.PodInfo{Pod: other}, nodeInfoOf(nodeA))
	wantEcho(t, "targetPod (addpod)", status, marshal(t, other))

	status = pl.PreScore(ctx, state, pod, []*framework.NodeInfo{nodeInfoOf(nodeA), nodeInfoOf(nodeB)})
	wantEcho(t, "filteredNodeList (prescore)", status, `["node-a","node-b"]`)

	statuses := framework.NewDefaultNodeToStatus()
	statuses.Set("node-a", framework.NewStatus(framework.Unschedulable, "full"))
	_, status = pl.PostFilter(ctx, state, pod, statuses)
	// node-b is not listed explicitly: the framework's default for it is
	// UnschedulableAndUnresolvable (3).
	wantEcho(t, "nodeToStatusMap (postfilter)", status, `{"node-a":2,"node-b":3}`)

	status = pl.NormalizeScore(ctx, state, pod, framework.NodeScoreList{{Name: "node-a", Score: 7}})
	wantEcho(t, "nodeScoreList (normalizescore)", status, `{"node-a":7}`)

	status = pl.Reserve(ctx, state, pod, "node-a")
	wantEcho(t, "nodeImageStates (reserve)", status, `{}`)

	status, timeout := pl.Permit(ctx, state, pod, "node-a")
	if status.Code() != framework.Wait || timeout != 1500*time.Millisecond {
		t.Errorf("permit = %v, %v; want Wait, 1.5s (code high, timeout ms low)", status.Code(), timeout)
	}
	if got := status.Message(); got != marshal(t, nodeA) {
		t.Errorf("node (permit) = %q, want the snapshot's node-a", got)
	}

	status = pl.PreBind(ctx, state, pod, "node-a")
	list := &v1.NodeList{Items: []v1.Node{*nodeA, *nodeB}}
	wantEcho(t, "nodeList (prebind)", status, marshal(t, list))

	if status = pl.Bind(ctx, state, pod, "node-a"); !status.IsSkip() {
		t.Errorf("bind = %v, want Skip", status)
	}
}

// The getter protocol: too small a limit writes nothing and returns the needed length (the
// guest checks this itself, scoring the length of get_config's value on success).
func TestGetterProtocolWritesOnlyWhatFits(t *testing.T) {
	config := "a guest configuration of some length"
	tf := mustTestFramework(t, "echo_inputs", frameworkSetup{guestConfig: config})
	pl := tf.plugin.(basePlugin).plugin()
	score, status := pl.Score(context.Background(), framework.NewCycleState(), testPod("p1"),
		nodeInfoOf(testNode("node-a")))
	if !status.IsSuccess() || score != int64(len(config)) {
		t.Errorf("score = %d, %v; want %d, success", score, status, len(config))
	}
}

func wantEcho(t *testing.T, what string, status *framework.Status, want string) {
	t.Helper()
	if status.Code() != framework.Unschedulable {
		t.Errorf("%s: code = %v (%s), want Unschedulable carrying the echo", what, status.Code(), status.Message())
		return
	}
	if got := status.Message(); got != want {
		t.Errorf("%s: guest saw %q, want %q", what, got, want)
	}
}

func marshal(t *testing.T, msg interface{ Marshal() ([]byte, error) }) string {
	t.Helper()
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Node image states are the snapshot's, as JSON.
func TestNodeImageStatesAreJSON(t *testing.T) {
	node := testNode("node-a")
	node.Status.Images = []v1.ContainerImage{{Names: []string{"registry.local/app:1"}, SizeBytes: 42}}
	tf := mustTestFramework(t, "echo_inputs", frameworkSetup{nodes: []*v1.Node{node}})
	pl := tf.plugin.(basePlugin).plugin()
	status := pl.Reserve(context.Background(), framework.NewCycleState(), testPod("p1"), "node-a")
	var states map[string]struct{ Size int64 }
	if err := json.Unmarshal([]byte(status.Message()), &states); err != nil {
		t.Fatalf("nodeImageStates %q: %v", status.Message(), err)
	}
	if states["registry.local/app:1"].Size != 42 {
		t.Errorf("image states = %q, want registry.local/app:1 of size 42", status.Message())
	}
}
