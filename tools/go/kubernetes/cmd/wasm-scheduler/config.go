package main

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"wasmgate.dev/tools/kubernetes/wasmhost"
)

// The framework registry needs plugin names before it reads the configuration, so, like
// upstream, the --config file is read once more here to learn which names are wasm plugins.

// wasmPluginsFromArgs returns the wasm plugin names of the --config file in args; none when
// there is no --config.
func wasmPluginsFromArgs(args []string) ([]string, error) {
	path := configPath(args)
	if path == "" {
		return nil, nil
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, fmt.Errorf("reading --config %s: %w", path, err)
	}
	return wasmPluginNames(cfg), nil
}

// configPath finds --config in the command line the scheduler will parse (pflag syntax:
// --config=x, --config x, and the single-dash forms).
func configPath(args []string) string {
	for i, arg := range args {
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func loadConfig(path string) (*config.KubeSchedulerConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj, gvk, err := scheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	cfg, ok := obj.(*config.KubeSchedulerConfiguration)
	if !ok {
		return nil, fmt.Errorf("not a KubeSchedulerConfiguration: %v", gvk)
	}
	return cfg, nil
}

// wasmPluginNames are the plugins that have a pluginConfig decoding as wasm args and are in
// multiPoint.enabled of the same profile, in profile and list order, each name once.
func wasmPluginNames(cfg *config.KubeSchedulerConfiguration) []string {
	var names []string
	seen := sets.New[string]()
	for _, profile := range cfg.Profiles {
		if profile.Plugins == nil {
			continue
		}
		withArgs := sets.New[string]()
		for _, pc := range profile.PluginConfig {
			if _, err := wasmhost.DecodeArgs(pc.Args); err == nil {
				withArgs.Insert(pc.Name)
			}
		}
		for _, p := range profile.Plugins.MultiPoint.Enabled {
			if withArgs.Has(p.Name) && !seen.Has(p.Name) {
				seen.Insert(p.Name)
				names = append(names, p.Name)
			}
		}
	}
	return names
}
