package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigPath(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"equals", []string{"--v=2", "--config=/etc/s.yaml"}, "/etc/s.yaml"},
		{"separate", []string{"--config", "/etc/s.yaml", "--v=2"}, "/etc/s.yaml"},
		{"single dash", []string{"-config=/etc/s.yaml"}, "/etc/s.yaml"},
		{"kubeconfig is not config", []string{"--kubeconfig=/k"}, ""},
		{"after --", []string{"--", "--config=/x"}, ""},
		{"none", []string{"--help"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := configPath(tc.args); got != tc.want {
				t.Errorf("configPath(%q) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

// Only plugins with wasm args AND enabled under multiPoint are wasm plugins, each once.
const twoProfiles = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: wasmgate-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: nodesuffix
      - name: argsless
      - name: NodeResourcesFit
  pluginConfig:
  - name: nodesuffix
    args:
      guestURL: file:///var/lib/wasmgate/store/sha256/aa
      guestConfig: "-wasm"
  - name: configured-not-enabled
    args:
      guestURL: file:///x
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: LeastAllocated
- schedulerName: second
  plugins:
    multiPoint:
      enabled:
      - name: nodesuffix
      - name: scorer
  pluginConfig:
  - name: nodesuffix
    args:
      guestURL: file:///var/lib/wasmgate/store/sha256/aa
  - name: scorer
    args:
      guestURL: file:///var/lib/wasmgate/store/sha256/bb
`

func TestWasmPluginsFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(twoProfiles), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := wasmPluginsFromArgs([]string{"--config", path})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nodesuffix", "scorer"}; !reflect.DeepEqual(got, want) {
		t.Errorf("wasm plugins = %q, want %q", got, want)
	}
}

func TestWasmPluginsFromConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notConfig := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(notConfig, []byte("apiVersion: v1\nkind: Pod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "absent.yaml"), "no such file or directory"},
		{"not a scheduler config", notConfig, "reading --config " + notConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmPluginsFromArgs([]string{"--config=" + tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
