package wasmhost

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// guest is one instance of the guest module. An instance is used by one caller at a time.
type guest struct {
	mod api.Module
	// out collects the guest's stdout and stderr; it is added to the error of a failed call.
	out   *bytes.Buffer
	fns   map[point]api.Function
	stack []uint64
	// broken is set when a call failed (a trap); the pool then discards the instance, whose
	// memory may be left inconsistent.
	broken bool
}

// newGuest instantiates the compiled guest, which runs its _start if exported (TinyGo and WASI
// command modules initialise there). A trap in _start fails the instantiation.
func (pl *wasmPlugin) newGuest(ctx context.Context) (*guest, error) {
	var out bytes.Buffer
	name := pl.name + "#" + strconv.FormatUint(pl.instances.Add(1), 10)
	cfg := wazero.NewModuleConfig().
		WithName(name).
		WithStdout(&out).
		WithStderr(&out).
		WithStartFunctions("_start")
	mod, err := pl.runtime.InstantiateModule(ctx, pl.compiled, cfg)
	if err != nil {
		return nil, guestError(&out, "instantiate", err)
	}
	out.Reset()
	g := &guest{mod: mod, out: &out, fns: map[point]api.Function{}, stack: make([]uint64, 1)}
	for _, e := range guestExports {
		if pl.points&e.point != 0 {
			g.fns[e.point] = mod.ExportedFunction(e.name)
		}
	}
	return g, nil
}

// call runs one extension-point export and returns its raw result (0 for exports without one).
func (g *guest) call(ctx context.Context, p point) (uint64, error) {
	defer g.out.Reset()
	g.stack[0] = 0
	if err := g.fns[p].CallWithStack(ctx, g.stack); err != nil {
		g.broken = true
		return 0, guestError(g.out, exportName(p), err)
	}
	return g.stack[0], nil
}

func (g *guest) close(ctx context.Context) {
	_ = g.mod.Close(ctx)
}

// guestError names the failed function and adds what the guest printed, as upstream's
// decorateError does.
func guestError(out *bytes.Buffer, fn string, err error) error {
	if detail := out.String(); detail != "" {
		return fmt.Errorf("wasm: %s error: %s\n%w", fn, detail, err)
	}
	return fmt.Errorf("wasm: %s error: %w", fn, err)
}
