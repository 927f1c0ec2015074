package wasmhost

import (
	"context"
	"strings"
	"testing"
)

// A guest the scheduler cannot use fails the plugin's factory, and with it the framework (the
// scheduler then exits non-zero). The error names the plugin and the cause.
func TestLoadErrorsFailTheFramework(t *testing.T) {
	tests := []struct {
		guest string
		want  []string
	}{
		{"no_memory", []string{"wasm: guest doesn't export memory[memory]"}},
		{"no_plugin_export", []string{"wasm: guest does not export any plugin functions"}},
		{"filter_wrong_signature", []string{
			"wasm: guest exports the wrong signature for func[filter]. should be () -> (i32)"}},
		{"start_traps", []string{"failed to create a guest pool: wasm: instantiate error:",
			"start failed on purpose", "unreachable"}},
		{"imports_unknown_function", []string{`"no_such_function" is not exported in module "k8s.io/scheduler"`}},
		{"enqueue_only", []string{"wasm: filter, score, reserve, permit or bind must be exported"}},
		{"does_not_exist", []string{"wasm: error reading guestURL file://", "no such file or directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.guest, func(t *testing.T) {
			_, err := newTestFramework(t, tc.guest, frameworkSetup{defaultBinder: true})
			if err == nil {
				t.Fatal("framework built, want a load error")
			}
			msg := err.Error()
			for _, want := range append([]string{`initializing plugin "` + testPlugin + `"`}, tc.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestLoadRefusesBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args Args
		want string
	}{
		{"no guestURL", Args{}, "wasm: guestURL is required"},
		{"unsupported scheme", Args{GuestURL: "ftp://host/x.wasm"}, "unsupported URL scheme: ftp"},
		{"not a URL", Args{GuestURL: "plugin.wasm"}, "invalid URL: plugin.wasm"},
		{"file without slashes", Args{GuestURL: "file:plugin.wasm"}, "want file://<path>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), testPlugin, tc.args, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A file that is not a WebAssembly binary (here: the guest's WAT source) fails compilation.
func TestLoadRefusesInvalidModule(t *testing.T) {
	wat := strings.TrimSuffix(guestURL(t, "filter_node_suffix"), ".wasm") + ".wat"
	_, err := New(context.Background(), testPlugin, Args{GuestURL: wat}, nil)
	if err == nil || !strings.Contains(err.Error(), "wasm: error compiling guest: invalid magic number") {
		t.Fatalf("error = %v, want a compile error", err)
	}
}

// prefilter alone is upstream's special case: accepted, as a PreFilter-only plugin.
func TestPrefilterOnlyGuestIsAPreFilterPlugin(t *testing.T) {
	tf := mustTestFramework(t, "prefilter_only", frameworkSetup{defaultBinder: true})
	if got := tf.enabledAt(); len(got) != 1 || got[0] != "PreFilter" {
		t.Errorf("enabled at %v, want [PreFilter]", got)
	}
}
