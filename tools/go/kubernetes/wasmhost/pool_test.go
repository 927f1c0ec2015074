package wasmhost

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// A trap is an Error status carrying what the guest printed; the trapped instance is dropped and
// the next call runs on a fresh one.
func TestTrapIsAnErrorAndTheInstanceIsReplaced(t *testing.T) {
	tf := mustTestFramework(t, "filter_traps", frameworkSetup{defaultBinder: true})
	ctx := context.Background()
	pod := testPod("p1")

	status := tf.RunFilterPlugins(ctx, framework.NewCycleState(), pod, nodeInfoOf(testNode("node-trap")))
	if status.Code() != framework.Error {
		t.Fatalf("code = %v, want Error", status.Code())
	}
	for _, want := range []string{"wasm: filter error: guest is about to trap", "unreachable"} {
		if !strings.Contains(status.Message(), want) {
			t.Errorf("message %q does not contain %q", status.Message(), want)
		}
	}
	pl := tf.plugin.(basePlugin).plugin()
	before := pl.instances.Load()
	if status := tf.RunFilterPlugins(ctx, framework.NewCycleState(), pod, nodeInfoOf(testNode("node-ok"))); !status.IsSuccess() {
		t.Fatalf("after the trap: %v", status)
	}
	if got := pl.instances.Load(); got != before+1 {
		t.Errorf("instances = %d after the trap, want one new (%d)", got, before+1)
	}
}

// The framework filters nodes in parallel; calls on the scheduling guest are serialised, so
// every node gets its own answer (run with -race to check the locking).
func TestParallelFilterCallsKeepTheirAnswers(t *testing.T) {
	tf := mustTestFramework(t, "filter_node_suffix", frameworkSetup{guestConfig: "-wasm", defaultBinder: true})
	ctx := context.Background()
	pod := testPod("p1")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, want := fmt.Sprintf("n%d-wasm", i), framework.Success
			if i%2 == 1 {
				name, want = fmt.Sprintf("n%d-other", i), framework.Unschedulable
			}
			status := tf.RunFilterPlugins(ctx, framework.NewCycleState(), pod, nodeInfoOf(testNode(name)))
			if status.Code() != want {
				errs <- fmt.Errorf("%s: code %v, want %v", name, status.Code(), want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The pool hands the scheduling guest to the pod's binding cycle only if it last served that
// pod; another pod's binding cycle gets a guest of its own.
func TestBindingTakesTheSchedulingGuestOnlyForItsPod(t *testing.T) {
	pool := mustTestFramework(t, "every_point", frameworkSetup{}).plugin.(basePlugin).plugin().pool
	ctx := context.Background()
	var scheduled *guest
	if err := pool.withSchedulingGuest(ctx, "a", func(g *guest) { scheduled = g }); err != nil {
		t.Fatal(err)
	}
	bindingOf := func(uid types.UID) *guest {
		var got *guest
		if err := pool.withBindingGuest(ctx, uid, func(g *guest) { got = g }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if g := bindingOf("b"); g == scheduled {
		t.Error("pod b's binding cycle took the guest that scheduled pod a")
	}
	if g := bindingOf("a"); g != scheduled {
		t.Error("pod a's binding cycle did not get the guest that scheduled it")
	}
	if g := bindingOf("a"); g != scheduled {
		t.Error("pod a's binding cycle changed guests between calls")
	}
	pool.release(ctx, "a")
	pool.release(ctx, "b")
	if pool.holdsBinding("a") || pool.holdsBinding("b") || len(pool.free) != 2 {
		t.Errorf("after release: %d free guests, want 2; binding %v", len(pool.free), pool.binding)
	}
}

// Binding guests the framework never hands back are bounded: the oldest holder is dropped.
func TestBindingGuestsAreBounded(t *testing.T) {
	pool := mustTestFramework(t, "every_point", frameworkSetup{}).plugin.(basePlugin).plugin().pool
	for i := range maxBindingGuests + 5 {
		uid := types.UID(fmt.Sprint(i))
		if err := pool.withBindingGuest(context.Background(), uid, func(*guest) {}); err != nil {
			t.Fatal(err)
		}
	}
	newest := types.UID(fmt.Sprint(maxBindingGuests + 4))
	if len(pool.binding) != maxBindingGuests || pool.holdsBinding("0") || !pool.holdsBinding(newest) {
		t.Errorf("holding %d binding guests (oldest held: %v), want the newest %d",
			len(pool.binding), pool.holdsBinding("0"), maxBindingGuests)
	}
}
