package wasmhost

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// protoMessage is what the gogo-generated Kubernetes API types offer for sized marshalling.
type protoMessage interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// The getter protocol of the ABI: the guest passes a buffer and its limit; the host writes the
// value only when it fits and always returns the length the value needs, so the guest can retry
// with a bigger buffer. Panics here become a trap in the calling guest (wazero recovers them).

func writeIfFits(mem api.Memory, buf, limit uint32, value []byte) uint32 {
	size := uint32(len(value))
	if size == 0 || size > limit {
		return size
	}
	if !mem.Write(buf, value) {
		panic(fmt.Sprintf("wasm: buffer [%d, +%d) is outside guest memory", buf, size))
	}
	return size
}

func marshalIfFits(mem api.Memory, buf, limit uint32, msg protoMessage) uint32 {
	size := msg.Size()
	if size == 0 || uint32(size) > limit {
		return uint32(size)
	}
	view, ok := mem.Read(buf, uint32(size))
	if !ok {
		panic(fmt.Sprintf("wasm: buffer [%d, +%d) is outside guest memory", buf, size))
	}
	if _, err := msg.MarshalToSizedBuffer(view); err != nil {
		panic(fmt.Sprintf("wasm: marshalling for the guest: %v", err))
	}
	return uint32(size)
}

// readGuestBytes returns a view of guest memory; callers copy what they keep.
func readGuestBytes(mem api.Memory, ptr, size uint32, what string) []byte {
	if size == 0 {
		return nil
	}
	view, ok := mem.Read(ptr, size)
	if !ok {
		panic(fmt.Sprintf("wasm: out of memory reading %s", what))
	}
	return view
}

// splitNUL decodes the ABI's list encoding: strings each terminated by NUL. Empty entries and
// an unterminated tail are dropped, as upstream's fromNULTerminated does.
func splitNUL(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c != 0 {
			continue
		}
		if i > start {
			out = append(out, string(b[start:i]))
		}
		start = i + 1
	}
	return out
}
