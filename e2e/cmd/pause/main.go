// Command pause is the sandbox ("pause") container of the e2e test bed's
// real kubelet: it holds the pod's namespaces, reaps orphans and exits on
// SIGINT/SIGTERM. It is our own small stand-in for registry.k8s.io/pause,
// built from source because the bed fetches no images.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
