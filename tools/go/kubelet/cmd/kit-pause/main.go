// Command kit-pause is the kit's sandbox ("pause") binary: it holds a pod's namespaces open,
// reaps orphans when the pod shares one PID namespace, and exits on SIGINT or SIGTERM. There is no
// registry.k8s.io here, so the kit builds its own from this file instead of pulling
// registry.k8s.io/pause; the kit's static test images run it as their workload too.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		// Reap every exited child: as PID 1 of a shared PID namespace this process adopts
		// orphans, and nobody else would wait for them.
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
