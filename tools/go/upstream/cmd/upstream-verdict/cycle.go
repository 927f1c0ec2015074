package main

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	wasm "sigs.k8s.io/kube-scheduler-wasm-extension/scheduler/plugin"
	upstreamtest "sigs.k8s.io/kube-scheduler-wasm-extension/scheduler/test"
)

// pluginName is the name the guest is registered under, as a scheduler profile would.
const pluginName = "verdict"

const (
	loadFails = "load-fails"
	callFails = "call-fails"
	runs      = "runs"
)

type verdict struct {
	Outcome string   `json:"outcome"`
	Point   string   `json:"point,omitempty"`
	Node    string   `json:"node,omitempty"`
	Detail  string   `json:"detail,omitempty"`
	Calls   []record `json:"calls"`
}

type record struct {
	Point  string `json:"point"`
	Node   string `json:"node,omitempty"`
	Code   *int   `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Score  *int64 `json:"score,omitempty"`
}

// failure ends the cycle: the call that failed and why.
type failure struct {
	point, node, detail string
}

type cycle struct {
	cluster *cluster
	timeout time.Duration
	calls   []record
}

func newCycle(c *cluster, timeout time.Duration) *cycle {
	return &cycle{cluster: c, timeout: timeout}
}

func (c *cycle) verdictFor(guestPath, guestConfig string, logSeverity int32) verdict {
	nodeInfos := c.cluster.nodeInfos()
	handle := &upstreamtest.FakeHandle{
		Recorder:     &upstreamtest.FakeRecorder{},
		SharedLister: &upstreamtest.FakeSharedLister{NodeInfoLister: &upstreamtest.FakeNodeInfoLister{Nodes: nodeInfos}},
	}
	config := wasm.PluginConfig{GuestURL: "file://" + guestPath, GuestConfig: guestConfig, LogSeverity: logSeverity}

	var plugin framework.Plugin
	if f := c.guarded("load", "", func() (fail string) {
		var err error
		// The same call the scheduler's plugin factory makes once it has decoded pluginConfig.
		if plugin, err = wasm.NewFromConfig(context.Background(), pluginName, config, handle); err != nil {
			return err.Error()
		}
		return ""
	}); f != nil {
		return verdict{Outcome: loadFails, Detail: f.detail, Calls: c.calls}
	}
	if f := c.schedule(plugin, nodeInfos); f != nil {
		return verdict{Outcome: callFails, Point: f.point, Node: f.node, Detail: f.detail, Calls: c.calls}
	}
	return verdict{Outcome: runs, Calls: c.calls}
}

// guarded runs one call with a deadline and turns a panic into a failure, as a scheduler crash
// is one. A call that never returns is a failure too: upstream sets no deadline on guest calls,
// so the scheduler would hang in it.
func (c *cycle) guarded(point, node string, call func() string) *failure {
	// A progress line per call names the culprit if the whole process has to be killed: a
	// guest looping in compiled code can stall a garbage collection, and with it our timer.
	fmt.Fprintf(os.Stderr, "calling %s %s\n", point, node)
	done := make(chan string, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Sprintf("panic: %v", r)
			}
		}()
		done <- call()
	}()
	select {
	case detail := <-done:
		if detail != "" {
			return &failure{point: point, node: node, detail: detail}
		}
		return nil
	case <-time.After(c.timeout):
		return &failure{point: point, node: node, detail: fmt.Sprintf("no return within %s", c.timeout)}
	}
}

// status records a call's status and says why it fails the cycle, if it does.
func (c *cycle) status(point, node string, status *framework.Status, score *int64) string {
	r := record{Point: point, Node: node, Score: score}
	defer func() { c.calls = append(c.calls, r) }()
	if status == nil {
		return ""
	}
	code := int(status.Code())
	r.Code, r.Reason = &code, status.Message()
	// The framework names every status it logs; a code outside its table panics there.
	name := status.Code().String()
	if status.Code() == framework.Error {
		return fmt.Sprintf("status %s: %s", name, status.Message())
	}
	return ""
}

func (c *cycle) void(point, node string) {
	c.calls = append(c.calls, record{Point: point, Node: node})
}

func (c *cycle) schedule(plugin framework.Plugin, nodeInfos []*framework.NodeInfo) *failure {
	ctx := context.Background()
	pod := c.cluster.Pod
	state := framework.NewCycleState()
	byName := map[string]*framework.NodeInfo{}
	for _, info := range nodeInfos {
		byName[info.Node().Name] = info
	}

	if p, ok := plugin.(framework.EnqueueExtensions); ok {
		if f := c.guarded("enqueue", "", func() string {
			_, err := p.EventsToRegister(ctx)
			c.void("enqueue", "")
			if err != nil {
				return err.Error()
			}
			return ""
		}); f != nil {
			return f
		}
	}

	candidates := c.cluster.nodeNames()
	if p, ok := plugin.(framework.PreFilterPlugin); ok {
		if f := c.guarded("prefilter", "", func() string {
			result, status := p.PreFilter(ctx, state, pod)
			if status.IsSuccess() && result != nil && result.NodeNames.Len() > 0 {
				var chosen []string
				for _, name := range candidates {
					if result.NodeNames.Has(name) {
						chosen = append(chosen, name)
					}
				}
				if len(chosen) > 0 {
					candidates = chosen
				}
			}
			return c.status("prefilter", "", status, nil)
		}); f != nil {
			return f
		}
		if f := c.preFilterExtensions(ctx, p, state, byName); f != nil {
			return f
		}
	}

	failed := map[string]*framework.Status{}
	if p, ok := plugin.(framework.FilterPlugin); ok {
		for _, node := range candidates {
			if f := c.guarded("filter", node, func() string {
				status := p.Filter(ctx, state, pod, byName[node])
				if !status.IsSuccess() {
					failed[node] = status
				}
				return c.status("filter", node, status, nil)
			}); f != nil {
				return f
			}
		}
	}
	if p, ok := plugin.(framework.PostFilterPlugin); ok {
		statuses := framework.NewNodeToStatus(failed, framework.NewStatus(framework.UnschedulableAndUnresolvable))
		if f := c.guarded("postfilter", "", func() string {
			_, status := p.PostFilter(ctx, state, pod, statuses)
			return c.status("postfilter", "", status, nil)
		}); f != nil {
			return f
		}
	}

	var feasible []string
	for _, node := range candidates {
		if _, bad := failed[node]; !bad {
			feasible = append(feasible, node)
		}
	}
	// Score even when every node was filtered out, so that score gets a verdict too.
	scored := feasible
	if len(scored) == 0 {
		scored = candidates
	}
	chosen, f := c.score(ctx, plugin, state, pod, scored, byName)
	if f != nil {
		return f
	}
	return c.bind(ctx, plugin, state, pod, chosen)
}

func (c *cycle) preFilterExtensions(ctx context.Context, p framework.PreFilterPlugin, state *framework.CycleState, byName map[string]*framework.NodeInfo) *failure {
	running := c.cluster.RunningPod
	podInfo, err := framework.NewPodInfo(running)
	if err != nil {
		return &failure{point: "addpod", detail: err.Error()}
	}
	nodeInfo := byName[running.Spec.NodeName]
	var extensions framework.PreFilterExtensions
	if f := c.guarded("prefilterextensions", "", func() string { extensions = p.PreFilterExtensions(); return "" }); f != nil {
		return f
	}
	if extensions == nil {
		return nil
	}
	if f := c.guarded("addpod", nodeInfo.Node().Name, func() string {
		return c.status("addpod", nodeInfo.Node().Name, extensions.AddPod(ctx, state, c.cluster.Pod, podInfo, nodeInfo), nil)
	}); f != nil {
		return f
	}
	return c.guarded("removepod", nodeInfo.Node().Name, func() string {
		return c.status("removepod", nodeInfo.Node().Name, extensions.RemovePod(ctx, state, c.cluster.Pod, podInfo, nodeInfo), nil)
	})
}

func (c *cycle) score(ctx context.Context, plugin framework.Plugin, state *framework.CycleState, pod *v1.Pod, scored []string, byName map[string]*framework.NodeInfo) (string, *failure) {
	infos := make([]*framework.NodeInfo, 0, len(scored))
	for _, node := range scored {
		infos = append(infos, byName[node])
	}
	if p, ok := plugin.(framework.PreScorePlugin); ok {
		if f := c.guarded("prescore", "", func() string {
			return c.status("prescore", "", p.PreScore(ctx, state, pod, infos), nil)
		}); f != nil {
			return "", f
		}
	}
	chosen := scored[0]
	p, ok := plugin.(framework.ScorePlugin)
	if !ok {
		return chosen, nil
	}
	scores := make(framework.NodeScoreList, 0, len(scored))
	for _, node := range scored {
		if f := c.guarded("score", node, func() string {
			score, status := p.Score(ctx, state, pod, byName[node])
			scores = append(scores, framework.NodeScore{Name: node, Score: score})
			return c.status("score", node, status, &score)
		}); f != nil {
			return "", f
		}
	}
	var extensions framework.ScoreExtensions
	if f := c.guarded("scoreextensions", "", func() string { extensions = p.ScoreExtensions(); return "" }); f != nil {
		return "", f
	}
	if extensions != nil {
		if f := c.guarded("normalizescore", "", func() string {
			return c.status("normalizescore", "", extensions.NormalizeScore(ctx, state, pod, scores), nil)
		}); f != nil {
			return "", f
		}
	}
	// The framework's own check after normalizing (RunScorePlugins): out of range fails the cycle.
	for _, s := range scores {
		if s.Score > framework.MaxNodeScore || s.Score < framework.MinNodeScore {
			detail := fmt.Sprintf("framework: score %d for node %s is outside [%d, %d] after normalizing",
				s.Score, s.Name, framework.MinNodeScore, framework.MaxNodeScore)
			return "", &failure{point: "score", node: s.Name, detail: detail}
		}
	}
	best := int64(-1 << 62)
	for _, s := range scores {
		if s.Score > best {
			best, chosen = s.Score, s.Name
		}
	}
	return chosen, nil
}

func (c *cycle) bind(ctx context.Context, plugin framework.Plugin, state *framework.CycleState, pod *v1.Pod, node string) *failure {
	steps := []struct {
		point string
		call  func() string
	}{
		{"reserve", func() string {
			p, ok := plugin.(framework.ReservePlugin)
			if !ok {
				return ""
			}
			return c.status("reserve", node, p.Reserve(ctx, state, pod, node), nil)
		}},
		{"permit", func() string {
			p, ok := plugin.(framework.PermitPlugin)
			if !ok {
				return ""
			}
			status, _ := p.Permit(ctx, state, pod, node)
			return c.status("permit", node, status, nil)
		}},
		{"prebind", func() string {
			p, ok := plugin.(framework.PreBindPlugin)
			if !ok {
				return ""
			}
			return c.status("prebind", node, p.PreBind(ctx, state, pod, node), nil)
		}},
		{"bind", func() string {
			p, ok := plugin.(framework.BindPlugin)
			if !ok {
				return ""
			}
			return c.status("bind", node, p.Bind(ctx, state, pod, node), nil)
		}},
		{"postbind", func() string {
			if p, ok := plugin.(framework.PostBindPlugin); ok {
				p.PostBind(ctx, state, pod, node)
				c.void("postbind", node)
			}
			return ""
		}},
		{"unreserve", func() string {
			if p, ok := plugin.(framework.ReservePlugin); ok {
				p.Unreserve(ctx, state, pod, node)
				c.void("unreserve", node)
			}
			return ""
		}},
	}
	for _, step := range steps {
		if f := c.guarded(step.point, node, step.call); f != nil {
			return f
		}
	}
	return nil
}
