package wasmhost

import (
	"context"
	"reflect"
	"testing"

	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// A filter guest decides through the real framework: nodes whose name ends with the configured
// suffix pass, the others are rejected with the guest's reason.
func TestFilterByNodeNameSuffixThroughFramework(t *testing.T) {
	tests := []struct {
		node       string
		wantCode   framework.Code
		wantReason string
	}{
		{"worker-wasm", framework.Success, ""},
		{"wasm", framework.Success, ""},
		{"worker-plain", framework.Unschedulable, "node name lacks the configured suffix"},
		{"asm", framework.Unschedulable, "node name lacks the configured suffix"},
	}
	tf := mustTestFramework(t, "filter_node_suffix", frameworkSetup{guestConfig: "wasm", defaultBinder: true})
	ctx := context.Background()
	pod := testPod("p1")
	for _, tc := range tests {
		t.Run(tc.node, func(t *testing.T) {
			status := tf.RunFilterPlugins(ctx, framework.NewCycleState(), pod, nodeInfoOf(testNode(tc.node)))
			if status.Code() != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(), status.Reasons(), tc.wantCode)
			}
			if tc.wantReason == "" {
				return
			}
			if !reflect.DeepEqual(status.Reasons(), []string{tc.wantReason}) {
				t.Errorf("reasons = %q, want [%q]", status.Reasons(), tc.wantReason)
			}
			if status.Plugin() != testPlugin {
				t.Errorf("rejecting plugin = %q, want %q", status.Plugin(), testPlugin)
			}
		})
	}
}

// A filter-only guest claims PreFilter and the filter group only: it must not become a
// scoring, reserving, permitting or binding plugin.
func TestFilterOnlyGuestClaimsOnlyFilterPoints(t *testing.T) {
	tf := mustTestFramework(t, "filter_node_suffix", frameworkSetup{guestConfig: "wasm", defaultBinder: true})
	want := []string{"PreFilter", "Filter", "PostFilter"}
	if got := tf.enabledAt(); !reflect.DeepEqual(got, want) {
		t.Errorf("enabled at %v, want %v", got, want)
	}
	for name, ok := range map[string]bool{
		"ScorePlugin":   is[framework.ScorePlugin](tf.plugin),
		"ReservePlugin": is[framework.ReservePlugin](tf.plugin),
		"PermitPlugin":  is[framework.PermitPlugin](tf.plugin),
		"BindPlugin":    is[framework.BindPlugin](tf.plugin),
		"PreBindPlugin": is[framework.PreBindPlugin](tf.plugin),
	} {
		if ok {
			t.Errorf("filter-only guest is a %s", name)
		}
	}
	if tf.plugin.Name() != testPlugin {
		t.Errorf("Name() = %q, want the configured %q", tf.plugin.Name(), testPlugin)
	}
}

// A guest that exports every point is enabled at every point of the framework.
func TestEveryPointGuestClaimsEveryPoint(t *testing.T) {
	tf := mustTestFramework(t, "every_point", frameworkSetup{})
	want := []string{"PreFilter", "Filter", "PostFilter", "PreScore", "Score", "Reserve",
		"Permit", "PreBind", "Bind", "PostBind"}
	if got := tf.enabledAt(); !reflect.DeepEqual(got, want) {
		t.Errorf("enabled at %v, want %v", got, want)
	}
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}
