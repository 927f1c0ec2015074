// Command upstream-verdict asks upstream's own plugin code what it does with one guest.
//
// It loads the guest through sigs.k8s.io/kube-scheduler-wasm-extension/scheduler/plugin, the
// package upstream's scheduler binary registers, and calls every extension point the scheduling
// framework could call on the plugin it returns (the framework finds them by type assertion, so
// do we), in cycle order, over the synthetic cluster given as Kubernetes JSON. It prints one
// JSON verdict: the load failed, a call returned Error or panicked (or never returned), or it
// ran. wasmgate's differential suite compares that verdict with `wasmgate validate`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	guest := flag.String("guest", "", "path of the guest module")
	clusterPath := flag.String("cluster", "", "JSON file: {nodes: [v1.Node], pod: v1.Pod, runningPod: v1.Pod}")
	guestConfig := flag.String("guest-config", "", "guestConfig handed to the guest")
	guestConfigFile := flag.String("guest-config-file", "", "read guestConfig from this file instead")
	logSeverity := flag.Int("log-severity", 0, "logSeverity of the plugin (0 info .. 3 fatal)")
	callTimeout := flag.Duration("call-timeout", 5*time.Second, "a call running longer counts as hung")
	flag.Parse()

	if *guest == "" || *clusterPath == "" {
		fmt.Fprintln(os.Stderr, "usage: upstream-verdict --guest FILE --cluster FILE [--guest-config S | --guest-config-file F]")
		os.Exit(2)
	}
	config := *guestConfig
	if *guestConfigFile != "" {
		data, err := os.ReadFile(*guestConfigFile)
		exitOnError(err, "reading --guest-config-file")
		config = string(data)
	}
	cluster, err := readCluster(*clusterPath)
	exitOnError(err, "reading --cluster")
	absolute, err := filepath.Abs(*guest)
	exitOnError(err, "resolving --guest")

	run := newCycle(cluster, *callTimeout)
	verdict := run.verdictFor(absolute, config, int32(*logSeverity))
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	exitOnError(out.Encode(verdict), "writing the verdict")
}

func exitOnError(err error, doing string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "upstream-verdict: %s: %v\n", doing, err)
		os.Exit(2)
	}
}
