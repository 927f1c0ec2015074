package wasmhost

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
)

// Helpers that put a test guest into a real scheduling framework the way the scheduler
// configuration does: enabled under multiPoint, with a pluginConfig of wasm args.

const testPlugin = "wasm-test-plugin"

// guestURL is the file:// URL of a guest built from testdata/<name>.wat (see wat2wasm.py).
func guestURL(t testing.TB, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return fileScheme + path
}

// testFramework is a framework holding one wasm plugin, and that plugin.
type testFramework struct {
	framework.Framework
	plugin framework.Plugin
}

// frameworkSetup says what else the test framework gets.
type frameworkSetup struct {
	nodes       []*v1.Node
	guestConfig string
	// defaultBinder adds the stock binder, for guests that do not bind.
	defaultBinder bool
}

func newTestFramework(t testing.TB, guest string, setup frameworkSetup) (*testFramework, error) {
	t.Helper()
	metrics.Register() // the framework records into the scheduler's metrics; registers once
	tf := &testFramework{}
	raw, err := json.Marshal(Args{GuestURL: guestURL(t, guest), GuestConfig: setup.guestConfig})
	if err != nil {
		t.Fatal(err)
	}
	registry := frameworkruntime.Registry{
		queuesort.Name: queuesort.New,
		testPlugin: func(ctx context.Context, obj runtime.Object, h framework.Handle) (framework.Plugin, error) {
			pl, err := Factory(testPlugin)(ctx, obj, h)
			tf.plugin = pl
			return pl, err
		},
	}
	plugins := &config.Plugins{
		QueueSort:  config.PluginSet{Enabled: []config.Plugin{{Name: queuesort.Name}}},
		MultiPoint: config.PluginSet{Enabled: []config.Plugin{{Name: testPlugin, Weight: 1}}},
	}
	if setup.defaultBinder {
		registry[defaultbinder.Name] = defaultbinder.New
		plugins.Bind = config.PluginSet{Enabled: []config.Plugin{{Name: defaultbinder.Name}}}
	}
	profile := &config.KubeSchedulerProfile{
		SchedulerName: "wasm-test",
		Plugins:       plugins,
		PluginConfig: []config.PluginConfig{{
			Name: testPlugin,
			Args: &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON},
		}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	fwk, err := frameworkruntime.NewFramework(ctx, registry, profile,
		frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(nil, setup.nodes)))
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = fwk.Close() })
	tf.Framework = fwk
	return tf, nil
}

func mustTestFramework(t testing.TB, guest string, setup frameworkSetup) *testFramework {
	t.Helper()
	tf, err := newTestFramework(t, guest, setup)
	if err != nil {
		t.Fatalf("building a framework with guest %s: %v", guest, err)
	}
	return tf
}

// enabledAt lists the plugins of each extension point that the test plugin is enabled at.
func (tf *testFramework) enabledAt() []string {
	sets := tf.ListPlugins()
	points := []struct {
		name string
		set  config.PluginSet
	}{
		{"PreEnqueue", sets.PreEnqueue}, {"PreFilter", sets.PreFilter}, {"Filter", sets.Filter},
		{"PostFilter", sets.PostFilter}, {"PreScore", sets.PreScore}, {"Score", sets.Score},
		{"Reserve", sets.Reserve}, {"Permit", sets.Permit}, {"PreBind", sets.PreBind},
		{"Bind", sets.Bind}, {"PostBind", sets.PostBind},
	}
	var at []string
	for _, p := range points {
		for _, pl := range p.set.Enabled {
			if pl.Name == testPlugin {
				at = append(at, p.name)
			}
		}
	}
	return at
}

func testNode(name string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kit": "wasm"}}}
}

func testPod(name string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name + "-uid")},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "registry.local/app:1"}}},
	}
}

func nodeInfoOf(node *v1.Node) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	return ni
}
