// Command memsnap-gen writes the bundle of a large generated Kubernetes node,
// deterministic by seed, for benchmarks of the analyzer (DESIGN §5):
//
//	memsnap-gen --pods 250 --containers-per-pod 3 --cgroup v2 --driver systemd --seed 1 -o node.tar.gz
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/memsnap/memsnap/tools/memsnap-gen/internal/nodegen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("memsnap-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt nodegen.Options
	var cg, out string
	fs.IntVar(&opt.Pods, "pods", 250, "pods on the node")
	fs.IntVar(&opt.ContainersPerPod, "containers-per-pod", 3, "containers per pod (the sandbox comes on top)")
	fs.StringVar(&cg, "cgroup", "v2", "cgroup version holding the memory controller: v1 or v2")
	fs.StringVar(&opt.Driver, "driver", "systemd", "kubelet cgroup driver: systemd or cgroupfs")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed: the same flags give byte-identical output")
	fs.IntVar(&opt.KernelNoiseLines, "kernel-lines", 50000, "ordinary kernel log lines around the OOM reports")
	fs.StringVar(&out, "o", "", "output bundle (.tar.gz); \"-\" = stdout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch strings.TrimPrefix(cg, "v") {
	case "1":
		opt.CgroupVersion = 1
	case "2":
		opt.CgroupVersion = 2
	}
	if out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "memsnap-gen: -o FILE.tar.gz is required (and no arguments)")
		return 2
	}
	if err := write(out, opt, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "memsnap-gen:", err)
		return 1
	}
	return 0
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
