// Command memsnap-gen writes a large generated Kubernetes node, deterministic
// by seed, for the benchmarks of DESIGN §5: as a bundle for the analyzer, or
// as a host tree for the collector (the same node for the same flags):
//
//	memsnap-gen --pods 250 --containers-per-pod 3 --cgroup v2 --driver systemd --seed 1 -o node.tar.gz
//	memsnap-gen --pods 250 ... --host-tree /dev/shm/node   # DIR/root + DIR/kubelet
//	memsnap-gen --serve /dev/shm/node                      # serve DIR/kubelet on 127.0.0.1
//	memsnap-gen --serve DIR --addr 192.0.2.11:10250 --tls  # as a kubelet would: HTTPS on the node's IP
//
// --serve prints the memsnap-collect arguments for the tree on its first
// line (--host-root, --kubelet, --pprof per agent) and serves until
// SIGINT/SIGTERM. With --tls it serves HTTPS with --tls-cert/--tls-key, or
// with a self-signed certificate it writes as DIR/kubelet-serving.{crt,key};
// --fault MODE[:PATH] (repeatable) makes it misbehave like a broken kubelet
// (hang, reset, 500, slow; see nodegen.Fault).
package main

import (
	"bufio"
	"crypto/tls"
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
	var so serveOptions
	fs.IntVar(&opt.Pods, "pods", 250, "pods on the node")
	fs.IntVar(&opt.ContainersPerPod, "containers-per-pod", 3, "containers per pod (the sandbox comes on top)")
	fs.StringVar(&cg, "cgroup", "v2", "cgroup version holding the memory controller: v1 or v2")
	fs.StringVar(&opt.Driver, "driver", "systemd", "kubelet cgroup driver: systemd or cgroupfs")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed: the same flags give byte-identical output")
	fs.IntVar(&opt.KernelNoiseLines, "kernel-lines", 50000, "ordinary kernel log lines around the OOM reports")
	fs.StringVar(&out, "o", "", "output bundle (.tar.gz); \"-\" = stdout")
	fs.StringVar(&hostTree, "host-tree", "", "write the node as a host tree for memsnap-collect into this new directory instead of a bundle")
	fs.StringVar(&serve, "serve", "", "serve the kubelet of a host tree written by --host-tree on 127.0.0.1 until interrupted")
	fs.StringVar(&so.addr, "addr", "127.0.0.1:0", "--serve: listen address (host:port)")
	fs.BoolVar(&so.tls, "tls", false, "--serve: HTTPS, as a kubelet serves")
	fs.StringVar(&so.certFile, "tls-cert", "", "--serve --tls: serving certificate (default: a self-signed one written as DIR/kubelet-serving.crt)")
	fs.StringVar(&so.keyFile, "tls-key", "", "--serve --tls: the certificate's key (default: DIR/kubelet-serving.key)")
	fs.Func("fault", "--serve: misbehave on requests (MODE[:PATH], MODE one of hang, reset, 500, slow; repeatable)", func(v string) error {
		f, err := nodegen.ParseFault(v)
		if err == nil {
			so.faults = append(so.faults, f)
		}
		return err
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if serve != "" {
		if (so.certFile == "") != (so.keyFile == "") || (so.certFile != "" && !so.tls) {
			fmt.Fprintln(stderr, "memsnap-gen: --tls-cert and --tls-key go together, with --tls")
			return 2
		}
		stop := make(chan struct{})
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		go func() { <-sig; close(stop) }()
		if err := serveTree(serve, opt, so, stdout, stop); err != nil {
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

type serveOptions struct {
	addr              string
	tls               bool
	certFile, keyFile string
	faults            []nodegen.Fault
}

// serveTree serves dir's kubelet answers until stop is closed, after
// printing the memsnap-collect arguments that read the tree. opt supplies
// the number of heap profiles (--host-tree wrote that many).
func serveTree(dir string, opt nodegen.Options, so serveOptions, stdout io.Writer, stop <-chan struct{}) error {
	h, closer, err := nodegen.KubeletHandler(dir)
	if err != nil {
		return err
	}
	defer closer.Close()
	host, _, err := net.SplitHostPort(so.addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %v", so.addr, err)
	}
	var tlsConfig *tls.Config
	if so.tls {
		if so.certFile == "" {
			so.certFile, so.keyFile = filepath.Join(dir, "kubelet-serving.crt"), filepath.Join(dir, "kubelet-serving.key")
			if err := nodegen.WriteSelfSignedCert(so.certFile, so.keyFile, host); err != nil {
				return err
			}
		}
		cert, err := tls.LoadX509KeyPair(so.certFile, so.keyFile)
		if err != nil {
			return fmt.Errorf("--tls-cert %s / --tls-key %s: %v", so.certFile, so.keyFile, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", so.addr)
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	srv := &http.Server{Handler: nodegen.WithFaults(h, so.faults, stopped), ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1.1 only, as the kubelet's clients (API server proxy,
		// collector) speak to it; the reset fault needs a hijackable
		// connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	base := scheme + "://" + ln.Addr().String()
	args := []string{"--host-root", filepath.Join(dir, nodegen.HostRootDir), "--kubelet", base}
	if tlsConfig != nil {
		args = append(args, "--kubelet-ca", so.certFile)
	}
	for _, t := range nodegen.AgentTargets(opt) {
		args = append(args, "--pprof", t+"="+base+"/"+nodegen.AgentsDir+"/"+t+"/debug/pprof/heap")
	}
	fmt.Fprintln(stdout, strings.Join(args, " "))
	select {
	case <-stop:
		close(stopped)
		return srv.Close()
	case err := <-done:
		close(stopped)
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
