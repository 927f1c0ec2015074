// Package wasmhost is the kit's kube-scheduler framework plugin that runs WebAssembly guests
// written against the kube-scheduler-wasm-extension guest ABI. The upstream scheduler cannot be
// fetched on this machine, so the kit carries its own host with the same ABI (docs/kit-scheduler.md).
package wasmhost

import (
	"bytes"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// point is one guest export, as a bit in a set of what a guest implements.
type point uint16

const (
	pEnqueue point = 1 << iota
	pPreFilter
	pFilter
	pPostFilter
	pPreScore
	pScore
	pNormalizeScore
	pReserve
	pUnreserve
	pPermit
	pPreBind
	pBind
	pPostBind
	pAddPod
	pRemovePod
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64

	// guestMemory is the export every guest must have; host functions write into it.
	guestMemory = "memory"
)

// guestExport is one extension-point function a guest may export. All take no parameters;
// the result type is fixed by the upstream ABI (scheduler/plugin/guest.go).
type guestExport struct {
	name   string
	point  point
	result []api.ValueType
}

var guestExports = []guestExport{
	{"enqueue", pEnqueue, nil},
	{"prefilter", pPreFilter, []api.ValueType{i32}},
	{"filter", pFilter, []api.ValueType{i32}},
	{"postfilter", pPostFilter, []api.ValueType{i64}},
	{"prescore", pPreScore, []api.ValueType{i32}},
	{"score", pScore, []api.ValueType{i64}},
	{"normalizescore", pNormalizeScore, []api.ValueType{i32}},
	{"reserve", pReserve, []api.ValueType{i32}},
	{"unreserve", pUnreserve, nil},
	{"permit", pPermit, []api.ValueType{i64}},
	{"prebind", pPreBind, []api.ValueType{i32}},
	{"bind", pBind, []api.ValueType{i32}},
	{"postbind", pPostBind, nil},
	{"addpod", pAddPod, []api.ValueType{i32}},
	{"removepod", pRemovePod, []api.ValueType{i32}},
}

// exportName is the guest function name of a single point.
func exportName(p point) string {
	for _, e := range guestExports {
		if e.point == p {
			return e.name
		}
	}
	return fmt.Sprintf("point(%d)", p)
}

// detectPoints returns the extension points a guest exports, refusing a wrong signature and a
// guest that exports none, as upstream's detectInterfaces does.
func detectPoints(defs map[string]api.FunctionDefinition) (point, error) {
	var found point
	for _, e := range guestExports {
		def, ok := defs[e.name]
		if !ok {
			continue
		}
		if len(def.ParamTypes()) != 0 || !bytes.Equal(def.ResultTypes(), e.result) {
			return 0, fmt.Errorf("wasm: guest exports the wrong signature for func[%s]. should be %s",
				e.name, signature(e.result))
		}
		found |= e.point
	}
	if found == 0 {
		return 0, fmt.Errorf("wasm: guest does not export any plugin functions")
	}
	return found, nil
}

func signature(results []api.ValueType) string {
	if len(results) == 0 {
		return "() -> ()"
	}
	return "() -> (" + api.ValueTypeName(results[0]) + ")"
}
