package wasmhost

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// Host module names the guest imports from (upstream scheduler/plugin/host.go).
const (
	moduleAPI       = "k8s.io/api"
	moduleKlog      = "k8s.io/klog"
	moduleScheduler = "k8s.io/scheduler"
)

// Function shapes of the ABI.
var (
	// getter(buf, limit) -> needed length
	sigGetter = [2][]api.ValueType{{i32, i32}, {i32}}
	// namedGetter(name, name_len, buf, limit) -> needed length
	sigNamedGetter = [2][]api.ValueType{{i32, i32, i32, i32}, {i32}}
	// setter(buf, len)
	sigSetter = [2][]api.ValueType{{i32, i32}, nil}
	// request(in, in_len, out, out_limit)
	sigRequest = [2][]api.ValueType{{i32, i32, i32, i32}, nil}
)

type hostFunc struct {
	name string
	sig  [2][]api.ValueType
	fn   api.GoModuleFunc
}

// host holds what host functions need beyond the call state: one per plugin.
type host struct {
	pluginName  string
	guestConfig string
	logSeverity int32
	handle      framework.Handle
}

// instantiateHostModules registers every host module in the plugin's runtime. Unlike upstream,
// which instantiates only the modules a guest imports, all are always present; a guest sees
// no difference because unused modules are never called.
func (h *host) instantiateHostModules(ctx context.Context, rt wazero.Runtime) error {
	modules := []struct {
		name  string
		funcs []hostFunc
	}{
		{moduleAPI, h.apiFuncs()},
		{moduleKlog, h.klogFuncs()},
		{moduleScheduler, append(h.schedulerGetters(), h.schedulerResultsAndHandle()...)},
	}
	for _, m := range modules {
		builder := rt.NewHostModuleBuilder(m.name)
		for _, f := range m.funcs {
			builder.NewFunctionBuilder().
				WithGoModuleFunction(f.fn, f.sig[0], f.sig[1]).
				Export(f.name)
		}
		if _, err := builder.Instantiate(ctx); err != nil {
			return fmt.Errorf("wasm: error instantiating host module %s: %w", m.name, err)
		}
	}
	return nil
}
