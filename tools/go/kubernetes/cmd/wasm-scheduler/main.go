// Command wasm-scheduler is the kit's kube-scheduler with WebAssembly plugins: the stock
// scheduler command plus one wasmhost plugin per wasm plugin its --config enables. It stands in
// for upstream's kube-scheduler-wasm-extension scheduler, which this machine cannot fetch.
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register" // JSON log format, as kube-scheduler
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"wasmgate.dev/tools/kubernetes/wasmhost"
)

func main() {
	names, err := wasmPluginsFromArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "wasm-scheduler: %v\n", err)
		os.Exit(1)
	}
	options := make([]app.Option, 0, len(names))
	for _, name := range names {
		options = append(options, app.WithPlugin(name, wasmhost.Factory(name)))
	}
	os.Exit(cli.Run(app.NewSchedulerCommand(options...)))
}
