package wasmhost

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
)

// Args are a wasm plugin's pluginConfig args; the JSON names are upstream's PluginConfig.
type Args struct {
	// GuestURL locates the guest: file://<path> (the rest of the URL is the path, so relative
	// paths work) or http(s)://.
	GuestURL string `json:"guestURL"`
	// GuestConfig is handed verbatim to the guest by k8s.io/scheduler.get_config.
	GuestConfig string `json:"guestConfig"`
	// LogSeverity is the lowest severity the guest may log: 0 info, 1 warning, 2 error, 3 fatal.
	LogSeverity int32 `json:"logSeverity"`
}

// DecodeArgs reads Args the way the scheduler framework decodes out-of-tree args. Like upstream,
// any JSON object decodes; unknown fields are ignored.
func DecodeArgs(obj runtime.Object) (Args, error) {
	var args Args
	if err := frameworkruntime.DecodeInto(obj, &args); err != nil {
		return Args{}, fmt.Errorf("args are not wasm plugin args: %w", err)
	}
	return args, nil
}
