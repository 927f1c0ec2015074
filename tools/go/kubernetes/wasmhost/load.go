package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
)

// Factory returns the framework factory of the wasm plugin registered under name. The name
// comes from the scheduler configuration, as with upstream's PluginFactory(name).
func Factory(name string) frameworkruntime.PluginFactory {
	return func(ctx context.Context, obj runtime.Object, handle framework.Handle) (framework.Plugin, error) {
		args, err := DecodeArgs(obj)
		if err != nil {
			return nil, fmt.Errorf("failed to decode into %s PluginConfig: %w", name, err)
		}
		return New(ctx, name, args, handle)
	}
}

// wasmPlugin is the framework plugin of one guest. Which framework interfaces it claims is
// decided by mask.go from the guest's exports.
type wasmPlugin struct {
	name      string
	runtime   wazero.Runtime
	compiled  wazero.CompiledModule
	points    point
	instances atomic.Uint64
	pool      *guestPool
}

// New loads the guest named by args.GuestURL. Every failure is returned, which makes the
// scheduler refuse to start, as upstream's factory error does.
func New(ctx context.Context, name string, args Args, handle framework.Handle) (framework.Plugin, error) {
	if args.GuestURL == "" {
		return nil, errors.New("wasm: guestURL is required")
	}
	bin, err := readGuest(ctx, args.GuestURL)
	if err != nil {
		return nil, fmt.Errorf("wasm: error reading guestURL %s: %w", args.GuestURL, err)
	}
	h := &host{pluginName: name, guestConfig: args.GuestConfig, logSeverity: args.LogSeverity,
		handle: handle}
	pl, err := load(ctx, name, bin, h)
	if err != nil {
		return nil, err
	}
	return pl, nil
}

// load compiles and checks the guest, then instantiates the first instance.
func load(ctx context.Context, name string, bin []byte, h *host) (framework.Plugin, error) {
	pl := &wasmPlugin{name: name, runtime: wazero.NewRuntime(ctx)}
	masked, err := pl.init(ctx, bin, h)
	if err != nil {
		_ = pl.runtime.Close(ctx)
		return nil, err
	}
	return masked, nil
}

func (pl *wasmPlugin) init(ctx context.Context, bin []byte, h *host) (framework.Plugin, error) {
	var err error
	if pl.compiled, err = pl.runtime.CompileModule(ctx, bin); err != nil {
		return nil, fmt.Errorf("wasm: error compiling guest: %w", err)
	}
	if _, ok := pl.compiled.ExportedMemories()[guestMemory]; !ok {
		return nil, fmt.Errorf("wasm: guest doesn't export memory[%s]", guestMemory)
	}
	if pl.points, err = detectPoints(pl.compiled.ExportedFunctions()); err != nil {
		return nil, err
	}
	masked, err := maskInterfaces(pl)
	if err != nil {
		return nil, err
	}
	if _, err = wasi_snapshot_preview1.Instantiate(ctx, pl.runtime); err != nil {
		return nil, fmt.Errorf("wasm: error instantiating wasi: %w", err)
	}
	if err = h.instantiateHostModules(ctx, pl.runtime); err != nil {
		return nil, err
	}
	if pl.pool, err = newGuestPool(ctx, pl.newGuest); err != nil {
		return nil, fmt.Errorf("failed to create a guest pool: %w", err)
	}
	return masked, nil
}

func (pl *wasmPlugin) plugin() *wasmPlugin { return pl }

// Close releases the runtime and every guest instance; the framework calls it on shutdown.
func (pl *wasmPlugin) Close() error {
	return pl.runtime.Close(context.Background())
}
