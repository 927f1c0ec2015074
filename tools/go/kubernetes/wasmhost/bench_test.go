package wasmhost

import (
	"context"
	"testing"

	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// The cost the wasm filter adds per node: one guest call with two getters, through the framework.
func BenchmarkFilterThroughFramework(b *testing.B) {
	tf := mustTestFramework(b, "filter_node_suffix", frameworkSetup{guestConfig: "-wasm", defaultBinder: true})
	ctx := context.Background()
	pod, node := testPod("p1"), nodeInfoOf(testNode("worker-wasm"))
	state := framework.NewCycleState()
	b.ResetTimer()
	for b.Loop() {
		if status := tf.RunFilterPlugins(ctx, state, pod, node); !status.IsSuccess() {
			b.Fatal(status)
		}
	}
}

// A protobuf pod handed to the guest on every call (prefilter echoes currentPod).
func BenchmarkCurrentPodGetter(b *testing.B) {
	pl := mustTestFramework(b, "echo_inputs", frameworkSetup{}).plugin.(basePlugin).plugin()
	ctx := context.Background()
	pod := testPod("p1")
	b.ResetTimer()
	for b.Loop() {
		if _, status := pl.PreFilter(ctx, nil, pod); status.Code() != framework.Unschedulable {
			b.Fatal(status)
		}
	}
}
