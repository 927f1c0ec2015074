package wasmhost

import (
	"encoding/binary"
	"strconv"

	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// guestResources maps the ABI's resource numbers (upstream guest/api GVK) to the framework's.
// The ABI predates resource.k8s.io's group prefix; the numbers keep their meaning.
var guestResources = [...]framework.EventResource{
	framework.Pod,
	framework.Node,
	framework.PersistentVolume,
	framework.PersistentVolumeClaim,
	"PodSchedulingContext", // gone from the framework; it never fires
	framework.ResourceClaim,
	framework.StorageClass,
	framework.CSINode,
	framework.CSIDriver,
	framework.CSIStorageCapacity,
	framework.WildCard,
}

// ABI action bits (upstream guest/api ActionType). Add, Delete and the four node updates have
// the framework's bit values; the framework has since added more update kinds.
const (
	guestActionAll    = 1<<6 - 1
	guestActionUpdate = 1<<2 | 1<<3 | 1<<4 | 1<<5
)

const encodedClusterEventSize = 8

// decodeClusterEvents reads the guest's events, each a little-endian uint32 resource number
// followed by a uint32 action bit set. A trailing partial event is ignored.
func decodeClusterEvents(b []byte) []framework.ClusterEvent {
	var events []framework.ClusterEvent
	for i := 0; i+encodedClusterEventSize <= len(b); i += encodedClusterEventSize {
		events = append(events, framework.ClusterEvent{
			Resource:   guestResource(binary.LittleEndian.Uint32(b[i:])),
			ActionType: guestAction(binary.LittleEndian.Uint32(b[i+4:])),
		})
	}
	return events
}

func guestResource(n uint32) framework.EventResource {
	if int(n) < len(guestResources) {
		return guestResources[n]
	}
	return framework.EventResource("GVK(" + strconv.FormatUint(uint64(n), 10) + ")")
}

// guestAction widens the guest's "all" and "any update" to the framework's current sets, so a
// guest written for the ABI keeps meaning every update (pod updates included).
func guestAction(bits uint32) framework.ActionType {
	action := framework.ActionType(bits & guestActionAll)
	switch {
	case bits&guestActionAll == guestActionAll:
		return framework.All
	case bits&guestActionUpdate == guestActionUpdate:
		return action&^guestActionUpdate | framework.Update
	default:
		return action
	}
}
