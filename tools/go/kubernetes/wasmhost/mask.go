package wasmhost

import (
	"errors"
	"io"

	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// The framework finds a plugin's extension points by type assertion, so the plugin must only
// have the methods of the points its guest exports. As upstream (scheduler/plugin/mask.go), the
// points come in groups, each claimed when its main export is present:
//
//	filter:  filter    -> PreFilterExtensions, Filter, PostFilter
//	score:   score     -> PreScore, Score, ScoreExtensions
//	reserve: reserve or unreserve
//	permit:  permit
//	bind:    bind      -> PreBind, Bind, PostBind
//
// PreFilter and EnqueueExtensions are always claimed (PreFilter starts a scheduling cycle).
// A member of a claimed group that the guest does not export is neutral (mask.go's callers).
// Upstream lists 21 of the 31 group combinations; all 31 are accepted here.
type group uint8

const (
	gFilter group = 1 << iota
	gScore
	gReserve
	gPermit
	gBind
)

// groupOf is the group a guest claims with its exports.
func groupOf(points point) group {
	var g group
	if points&pFilter != 0 {
		g |= gFilter
	}
	if points&pScore != 0 {
		g |= gScore
	}
	if points&(pReserve|pUnreserve) != 0 {
		g |= gReserve
	}
	if points&pPermit != 0 {
		g |= gPermit
	}
	if points&pBind != 0 {
		g |= gBind
	}
	return g
}

type basePlugin interface {
	framework.EnqueueExtensions
	framework.PreFilterPlugin
	io.Closer
	// plugin reaches the plugin behind the mask (upstream's ProfilerSupport does the same).
	plugin() *wasmPlugin
}

type filterPlugin interface {
	framework.PreFilterExtensions
	framework.FilterPlugin
	framework.PostFilterPlugin
}

type scorePlugin interface {
	framework.PreScorePlugin
	framework.ScoreExtensions
	framework.ScorePlugin
}

type bindPlugin interface {
	framework.PreBindPlugin
	framework.BindPlugin
	framework.PostBindPlugin
}

// One interface per combination, named by its groups: F filter, S score, R reserve, P permit,
// B bind.
type (
	mF interface {
		basePlugin
		filterPlugin
	}
	mS interface {
		basePlugin
		scorePlugin
	}
	mR interface {
		basePlugin
		framework.ReservePlugin
	}
	mP interface {
		basePlugin
		framework.PermitPlugin
	}
	mB interface {
		basePlugin
		bindPlugin
	}
	mFS interface {
		mF
		mS
	}
	mFR interface {
		mF
		mR
	}
	mFP interface {
		mF
		mP
	}
	mFB interface {
		mF
		mB
	}
	mSR interface {
		mS
		mR
	}
	mSP interface {
		mS
		mP
	}
	mSB interface {
		mS
		mB
	}
	mRP interface {
		mR
		mP
	}
	mRB interface {
		mR
		mB
	}
	mPB interface {
		mP
		mB
	}
	mFSR interface {
		mFS
		mR
	}
	mFSP interface {
		mFS
		mP
	}
	mFSB interface {
		mFS
		mB
	}
	mFRP interface {
		mFR
		mP
	}
	mFRB interface {
		mFR
		mB
	}
	mFPB interface {
		mFP
		mB
	}
	mSRP interface {
		mSR
		mP
	}
	mSRB interface {
		mSR
		mB
	}
	mSPB interface {
		mSP
		mB
	}
	mRPB interface {
		mRP
		mB
	}
	mFSRP interface {
		mFSR
		mP
	}
	mFSRB interface {
		mFSR
		mB
	}
	mFSPB interface {
		mFSP
		mB
	}
	mFRPB interface {
		mFRP
		mB
	}
	mSRPB interface {
		mSRP
		mB
	}
	mFSRPB interface {
		mFSRP
		mB
	}
)

var masks = map[group]func(*wasmPlugin) framework.Plugin{
	gFilter:                                       func(p *wasmPlugin) framework.Plugin { return struct{ mF }{p} },
	gScore:                                        func(p *wasmPlugin) framework.Plugin { return struct{ mS }{p} },
	gReserve:                                      func(p *wasmPlugin) framework.Plugin { return struct{ mR }{p} },
	gPermit:                                       func(p *wasmPlugin) framework.Plugin { return struct{ mP }{p} },
	gBind:                                         func(p *wasmPlugin) framework.Plugin { return struct{ mB }{p} },
	gFilter | gScore:                              func(p *wasmPlugin) framework.Plugin { return struct{ mFS }{p} },
	gFilter | gReserve:                            func(p *wasmPlugin) framework.Plugin { return struct{ mFR }{p} },
	gFilter | gPermit:                             func(p *wasmPlugin) framework.Plugin { return struct{ mFP }{p} },
	gFilter | gBind:                               func(p *wasmPlugin) framework.Plugin { return struct{ mFB }{p} },
	gScore | gReserve:                             func(p *wasmPlugin) framework.Plugin { return struct{ mSR }{p} },
	gScore | gPermit:                              func(p *wasmPlugin) framework.Plugin { return struct{ mSP }{p} },
	gScore | gBind:                                func(p *wasmPlugin) framework.Plugin { return struct{ mSB }{p} },
	gReserve | gPermit:                            func(p *wasmPlugin) framework.Plugin { return struct{ mRP }{p} },
	gReserve | gBind:                              func(p *wasmPlugin) framework.Plugin { return struct{ mRB }{p} },
	gPermit | gBind:                               func(p *wasmPlugin) framework.Plugin { return struct{ mPB }{p} },
	gFilter | gScore | gReserve:                   func(p *wasmPlugin) framework.Plugin { return struct{ mFSR }{p} },
	gFilter | gScore | gPermit:                    func(p *wasmPlugin) framework.Plugin { return struct{ mFSP }{p} },
	gFilter | gScore | gBind:                      func(p *wasmPlugin) framework.Plugin { return struct{ mFSB }{p} },
	gFilter | gReserve | gPermit:                  func(p *wasmPlugin) framework.Plugin { return struct{ mFRP }{p} },
	gFilter | gReserve | gBind:                    func(p *wasmPlugin) framework.Plugin { return struct{ mFRB }{p} },
	gFilter | gPermit | gBind:                     func(p *wasmPlugin) framework.Plugin { return struct{ mFPB }{p} },
	gScore | gReserve | gPermit:                   func(p *wasmPlugin) framework.Plugin { return struct{ mSRP }{p} },
	gScore | gReserve | gBind:                     func(p *wasmPlugin) framework.Plugin { return struct{ mSRB }{p} },
	gScore | gPermit | gBind:                      func(p *wasmPlugin) framework.Plugin { return struct{ mSPB }{p} },
	gReserve | gPermit | gBind:                    func(p *wasmPlugin) framework.Plugin { return struct{ mRPB }{p} },
	gFilter | gScore | gReserve | gPermit:         func(p *wasmPlugin) framework.Plugin { return struct{ mFSRP }{p} },
	gFilter | gScore | gReserve | gBind:           func(p *wasmPlugin) framework.Plugin { return struct{ mFSRB }{p} },
	gFilter | gScore | gPermit | gBind:            func(p *wasmPlugin) framework.Plugin { return struct{ mFSPB }{p} },
	gFilter | gReserve | gPermit | gBind:          func(p *wasmPlugin) framework.Plugin { return struct{ mFRPB }{p} },
	gScore | gReserve | gPermit | gBind:           func(p *wasmPlugin) framework.Plugin { return struct{ mSRPB }{p} },
	gFilter | gScore | gReserve | gPermit | gBind: func(p *wasmPlugin) framework.Plugin { return struct{ mFSRPB }{p} },
}

// maskInterfaces returns the plugin seen through exactly the interfaces its guest claims. A
// guest that claims no group is accepted only when it exports prefilter (upstream's special
// case); otherwise it is refused with upstream's message.
func maskInterfaces(pl *wasmPlugin) (framework.Plugin, error) {
	g := groupOf(pl.points)
	if g == 0 {
		if pl.points&pPreFilter != 0 {
			return struct{ basePlugin }{pl}, nil
		}
		return nil, errors.New("wasm: filter, score, reserve, permit or bind must be exported")
	}
	return masks[g](pl), nil
}
