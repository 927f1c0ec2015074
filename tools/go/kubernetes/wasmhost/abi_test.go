package wasmhost

import (
	"encoding/binary"
	"reflect"
	"testing"

	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// Every combination of groups gets a plugin with exactly those groups' interfaces.
func TestMaskClaimsExactlyTheExportedGroups(t *testing.T) {
	mains := map[group]point{gFilter: pFilter, gScore: pScore, gReserve: pReserve, gPermit: pPermit, gBind: pBind}
	for g := group(1); g < 1<<5; g++ {
		var points point
		for grp, p := range mains {
			if g&grp != 0 {
				points |= p
			}
		}
		masked, err := maskInterfaces(&wasmPlugin{points: points})
		if err != nil {
			t.Fatalf("groups %05b: %v", g, err)
		}
		claims := map[string][2]bool{
			"Filter":             {is[framework.FilterPlugin](masked), g&gFilter != 0},
			"Score":              {is[framework.ScorePlugin](masked), g&gScore != 0},
			"Reserve":            {is[framework.ReservePlugin](masked), g&gReserve != 0},
			"Permit":             {is[framework.PermitPlugin](masked), g&gPermit != 0},
			"Bind":               {is[framework.BindPlugin](masked), g&gBind != 0},
			"PreFilter (always)": {is[framework.PreFilterPlugin](masked), true},
		}
		for name, c := range claims {
			if c[0] != c[1] {
				t.Errorf("groups %05b: is %s = %v, want %v", g, name, c[0], c[1])
			}
		}
	}
}

// Only unreserve still claims the reserve group (upstream counts either export).
func TestUnreserveAloneClaimsReserve(t *testing.T) {
	masked, err := maskInterfaces(&wasmPlugin{points: pUnreserve})
	if err != nil || !is[framework.ReservePlugin](masked) {
		t.Errorf("unreserve-only guest: reserve plugin %v, err %v", is[framework.ReservePlugin](masked), err)
	}
}

func TestDecodeClusterEvents(t *testing.T) {
	encode := func(pairs ...uint32) []byte {
		var b []byte
		for _, v := range pairs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want []framework.ClusterEvent
	}{
		{"node add", encode(1, 1), []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add}}},
		{"pod all", encode(0, 63), []framework.ClusterEvent{{Resource: framework.Pod, ActionType: framework.All}}},
		{"node update widens", encode(1, 60), []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Update}}},
		{"add and label", encode(1, 1|8), []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel}}},
		{"storage class", encode(6, 2), []framework.ClusterEvent{{Resource: framework.StorageClass, ActionType: framework.Delete}}},
		{"wildcard", encode(10, 63), []framework.ClusterEvent{{Resource: framework.WildCard, ActionType: framework.All}}},
		{"unknown resource", encode(99, 1), []framework.ClusterEvent{{Resource: "GVK(99)", ActionType: framework.Add}}},
		{"partial tail ignored", append(encode(1, 1), 0, 0, 0), []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add}}},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeClusterEvents(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSplitNUL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"two", "a\x00bc\x00", []string{"a", "bc"}},
		{"empty entries dropped", "\x00a\x00\x00b\x00", []string{"a", "b"}},
		{"unterminated tail dropped", "a\x00b", []string{"a"}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitNUL([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name     string
		raw      uint64
		reason   string
		wantCode framework.Code
		wantMsg  string
	}{
		{"success", 0, "", framework.Success, ""},
		{"unschedulable with reason", 2, "full", framework.Unschedulable, "full"},
		{"pending", 6, "", framework.Pending, ""},
		{"unknown code", 7, "x", framework.Error, "wasm: guest returned unknown status code 7"},
		{"negative code", 0xffffffff, "", framework.Error, "wasm: guest returned unknown status code -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := statusOf(tc.raw, tc.reason)
			if st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
				t.Errorf("got %v %q, want %v %q", st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
			}
		})
	}
}
