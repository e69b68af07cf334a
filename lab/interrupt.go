package lab

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Open labs, so an interrupt (^C, a CI timeout's SIGTERM) still cleans up:
// go test's own handling would end the process with cgroups and mounts
// left behind.
var (
	openMu   sync.Mutex
	openLabs = map[*Lab]bool{}
	sigOnce  sync.Once
)

func register(l *Lab) {
	sigOnce.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			s := <-ch
			fmt.Fprintf(os.Stderr, "lab: %v: cleaning up before exit\n", s)
			openMu.Lock()
			labs := make([]*Lab, 0, len(openLabs))
			for l := range openLabs {
				labs = append(labs, l)
			}
			openMu.Unlock()
			for _, l := range labs {
				if err := l.Close(); err != nil {
					fmt.Fprintf(os.Stderr, "lab: cleanup of %s: %v (run make lab-clean)\n", l.Name, err)
				}
			}
			os.Exit(1)
		}()
	})
	openMu.Lock()
	openLabs[l] = true
	openMu.Unlock()
}

func unregister(l *Lab) {
	openMu.Lock()
	delete(openLabs, l)
	openMu.Unlock()
}
