// Command memsnap-hostfixture writes a fake node (hostfixture) to a
// directory and serves its kubelet until interrupted, so the real
// memsnap-collect binary can be measured against it:
//
//	go run ./collector-script/internal/cmd/memsnap-hostfixture -dir /tmp/host -pods 250
//
// prints the memsnap-collect command line to run. The performance issue
// grows this into memsnap-gen.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

func main() {
	dir := flag.String("dir", "", "empty directory for the host root (required)")
	pods := flag.Int("pods", 250, "pods (4 cgroups each)")
	version := flag.Int("cgroup", 1, "cgroup version of the memory controller: 1 (hybrid) or 2")
	driver := flag.String("driver", "systemd", "systemd or cgroupfs")
	procs := flag.Int("procs", 1500, "processes in /proc")
	kmsg := flag.Int("kmsg", 50000, "kernel log records")
	metrics := flag.Int("metrics-bytes", 40<<20, "size of /metrics/cadvisor")
	profiles := flag.Int("profiles", 4, "heap profile targets")
	profileBytes := flag.Int("profile-bytes", 8<<20, "size of each heap profile")
	flag.Parse()
	if *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h, err := hostfixture.Generate(*dir, hostfixture.Options{CgroupVersion: *version, Driver: *driver, Pods: *pods, Processes: *procs, KmsgLines: *kmsg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k, err := h.Kubelet(hostfixture.KubeletOptions{MetricsBytes: *metrics, Profiles: *profiles, ProfileBytes: *profileBytes})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer k.Close()
	args := []string{"memsnap-collect", "--host-root", *dir, "--kubelet", k.URL, "--cadvisor", "off"}
	for i, t := range k.Targets {
		args = append(args, "--pprof", fmt.Sprintf("agent%d=%s", i+1, t))
	}
	fmt.Println(strings.Join(args, " "))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
