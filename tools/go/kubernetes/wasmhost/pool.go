package wasmhost

import (
	"context"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// maxBindingGuests bounds the guests held for binding cycles. The framework does not always
// tell a plugin that a pod's binding cycle ended (a failed bind reaches Unreserve only for
// reserve plugins), so the oldest holder is dropped beyond this many.
const maxBindingGuests = 64

// guestPool assigns guest instances to scheduling and binding cycles, as upstream's pool does:
// one scheduling guest serves the (sequential) scheduling cycle, calls on it are serialised
// because the framework runs Filter and Score in parallel, and at the end of the scheduling
// cycle that guest follows its pod into the binding cycle, so state the guest kept for the pod
// is still there. Binding cycles run in parallel, each on its own guest.
type guestPool struct {
	newGuest func(context.Context) (*guest, error)

	// scheduling is held for every call on the scheduling guest and while it is handed over.
	scheduling sync.Mutex

	mu       sync.Mutex
	free     []*guest
	sched    *guest
	schedUID types.UID
	binding  map[types.UID]*guest
	order    []types.UID // binding holders, oldest first
}

// newGuestPool creates the first guest eagerly, so a guest that cannot instantiate fails the
// plugin at load time.
func newGuestPool(ctx context.Context, newGuest func(context.Context) (*guest, error)) (*guestPool, error) {
	g, err := newGuest(ctx)
	if err != nil {
		return nil, err
	}
	return &guestPool{newGuest: newGuest, free: []*guest{g}, binding: map[types.UID]*guest{}}, nil
}

// takeFree returns a free guest or a new one; callers hold mu.
func (p *guestPool) takeFree(ctx context.Context) (*guest, error) {
	if n := len(p.free); n > 0 {
		g := p.free[n-1]
		p.free = p.free[:n-1]
		return g, nil
	}
	return p.newGuest(ctx)
}

// putBack returns a guest to the free list, or drops a broken one; callers hold mu.
func (p *guestPool) putBack(ctx context.Context, g *guest) {
	if g.broken {
		g.close(ctx)
		return
	}
	p.free = append(p.free, g)
}

// withSchedulingGuest runs fn on the scheduling guest, which a new pod takes over (guests tell
// cycles apart by the pod they are given).
func (p *guestPool) withSchedulingGuest(ctx context.Context, podUID types.UID, fn func(*guest)) error {
	p.scheduling.Lock()
	defer p.scheduling.Unlock()

	p.mu.Lock()
	if p.sched == nil {
		g, err := p.takeFree(ctx)
		if err != nil {
			p.mu.Unlock()
			return err
		}
		p.sched = g
	}
	p.schedUID = podUID
	g := p.sched
	p.mu.Unlock()

	fn(g)

	if g.broken {
		p.mu.Lock()
		p.sched, p.schedUID = nil, ""
		p.putBack(ctx, g)
		p.mu.Unlock()
	}
	return nil
}

// withBindingGuest runs fn on the pod's binding guest: the one it already holds, else the
// scheduling guest if that last served this pod, else a free one.
func (p *guestPool) withBindingGuest(ctx context.Context, podUID types.UID, fn func(*guest)) error {
	g, err := p.bindingGuest(ctx, podUID)
	if err != nil {
		return err
	}
	fn(g)
	if g.broken {
		p.release(ctx, podUID)
	}
	return nil
}

func (p *guestPool) bindingGuest(ctx context.Context, podUID types.UID) (*guest, error) {
	p.scheduling.Lock()
	defer p.scheduling.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()

	if g, ok := p.binding[podUID]; ok {
		return g, nil
	}
	var g *guest
	if p.sched != nil && p.schedUID == podUID {
		g = p.sched
		p.sched, p.schedUID = nil, ""
	} else {
		var err error
		if g, err = p.takeFree(ctx); err != nil {
			return nil, err
		}
	}
	p.binding[podUID] = g
	p.order = append(p.order, podUID)
	if len(p.order) > maxBindingGuests {
		oldest := p.order[0]
		p.order = p.order[1:]
		p.binding[oldest].close(ctx)
		delete(p.binding, oldest)
	}
	return g, nil
}

// holdsBinding reports whether the pod has a binding guest.
func (p *guestPool) holdsBinding(podUID types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.binding[podUID]
	return ok
}

// release ends the pod's binding cycle and frees its guest.
func (p *guestPool) release(ctx context.Context, podUID types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.binding[podUID]
	if !ok {
		return
	}
	delete(p.binding, podUID)
	p.order = slices.DeleteFunc(p.order, func(u types.UID) bool { return u == podUID })
	p.putBack(ctx, g)
}

// withAnyGuest runs fn on a guest outside any cycle (EventsToRegister).
func (p *guestPool) withAnyGuest(ctx context.Context, fn func(*guest)) error {
	p.mu.Lock()
	g, err := p.takeFree(ctx)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	fn(g)
	p.mu.Lock()
	p.putBack(ctx, g)
	p.mu.Unlock()
	return nil
}
