// Command memsnap-gen writes a large generated Kubernetes node, deterministic
// by seed, for the benchmarks of DESIGN §5: as a bundle for the analyzer, or
// as a host tree for the collector (the same node for the same flags):
//
//	memsnap-gen --pods 250 --containers-per-pod 3 --cgroup v2 --driver systemd --seed 1 -o node.tar.gz
//	memsnap-gen --pods 250 ... --host-tree /dev/shm/node   # DIR/root + DIR/kubelet
//	memsnap-gen --serve /dev/shm/node                      # serve DIR/kubelet on 127.0.0.1
//
// --serve prints the memsnap-collect arguments for the tree on its first
// line (--host-root, --kubelet, --pprof per agent) and serves until
// SIGINT/SIGTERM.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/memsnap/memsnap/tools/memsnap-gen/internal/nodegen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("memsnap-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt nodegen.Options
	var cg, out, hostTree, serve string
	fs.IntVar(&opt.Pods, "pods", 250, "pods on the node")
	fs.IntVar(&opt.ContainersPerPod, "containers-per-pod", 3, "containers per pod (the sandbox comes on top)")
	fs.StringVar(&cg, "cgroup", "v2", "cgroup version holding the memory controller: v1 or v2")
	fs.StringVar(&opt.Driver, "driver", "systemd", "kubelet cgroup driver: systemd or cgroupfs")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed: the same flags give byte-identical output")
	fs.IntVar(&opt.KernelNoiseLines, "kernel-lines", 50000, "ordinary kernel log lines around the OOM reports")
	fs.StringVar(&out, "o", "", "output bundle (.tar.gz); \"-\" = stdout")
	fs.StringVar(&hostTree, "host-tree", "", "write the node as a host tree for memsnap-collect into this new directory instead of a bundle")
	fs.StringVar(&serve, "serve", "", "serve the kubelet of a host tree written by --host-tree on 127.0.0.1 until interrupted")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if serve != "" {
		if err := serveTree(serve, opt, stdout); err != nil {
			fmt.Fprintln(stderr, "memsnap-gen:", err)
			return 1
		}
		return 0
	}
	switch strings.TrimPrefix(cg, "v") {
	case "1":
		opt.CgroupVersion = 1
	case "2":
		opt.CgroupVersion = 2
	}
	if (out == "") == (hostTree == "") || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "memsnap-gen: one of -o FILE.tar.gz or --host-tree DIR is required (and no arguments)")
		return 2
	}
	if hostTree != "" {
		st, err := nodegen.WriteHostTree(hostTree, opt)
		if err != nil {
			fmt.Fprintln(stderr, "memsnap-gen:", err)
			return 1
		}
		fmt.Fprintf(stderr, "memsnap-gen: %s: %d pods, %d containers, %d cgroups, %d bundle files' worth, %d OOM kills\n",
			hostTree, st.Pods, st.Containers, st.Cgroups, st.Files, st.OOMKills)
		return 0
	}
	if err := write(out, opt, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "memsnap-gen:", err)
		return 1
	}
	return 0
}

// serveTree serves dir's kubelet answers until SIGINT/SIGTERM, after
// printing the memsnap-collect arguments that read the tree. opt supplies
// the number of heap profiles (--host-tree wrote that many).
func serveTree(dir string, opt nodegen.Options, stdout io.Writer) error {
	h, closer, err := nodegen.KubeletHandler(dir)
	if err != nil {
		return err
	}
	defer closer.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	args := []string{"--host-root", filepath.Join(dir, nodegen.HostRootDir), "--kubelet", base}
	for _, t := range nodegen.AgentTargets(opt) {
		args = append(args, "--pprof", t+"="+base+"/"+nodegen.AgentsDir+"/"+t+"/debug/pprof/heap")
	}
	fmt.Fprintln(stdout, strings.Join(args, " "))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		return srv.Close()
	case err := <-done:
		return err
	}
}

func write(out string, opt nodegen.Options, stdout, stderr io.Writer) error {
	if out == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if _, err := nodegen.WriteBundle(bw, opt); err != nil {
			return err
		}
		return bw.Flush()
	}
	// Write beside the target and rename, so a failed run never leaves a
	// half-written bundle under the final name.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".memsnap-gen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	st, err := nodegen.WriteBundle(bw, opt)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "memsnap-gen: %s: %d pods, %d containers, %d cgroups, %d files, %d bytes uncompressed, %d OOM kills\n",
		out, st.Pods, st.Containers, st.Cgroups, st.Files, st.Bytes, st.OOMKills)
	return nil
}
