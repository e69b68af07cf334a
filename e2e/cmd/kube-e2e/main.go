// Command kube-e2e is the real Kubernetes of the e2e test bed: one binary
// whose first argument picks the component, because kube-apiserver and
// kubelet share most of their packages and one link of both costs far less
// than two on a 2-core machine (see docs/e2e.md for build times).
//
//	kube-e2e apiserver --etcd-dir DIR [--etcd-client URL] -- KUBE-APISERVER FLAGS...
//	kube-e2e kubelet KUBELET FLAGS...
//
// Run through a link named kubelet it is the kubelet with every argument
// its own (busybox-style), so that the process is called kubelet, as
// memsnap-collect expects on a node.
//
// apiserver first starts an embedded etcd (go.etcd.io/etcd/server/v3/embed)
// listening on loopback only, waits until it is ready, then runs the
// kube-apiserver command of k8s.io/kubernetes with --etcd-servers pointing at
// it. Nothing here changes either component's behaviour: the flags after "--"
// are kube-apiserver's own.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	if filepath.Base(os.Args[0]) == "kubelet" {
		os.Exit(runKubelet(os.Args[1:]))
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-e2e apiserver|kubelet ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "apiserver":
		os.Exit(runAPIServer(os.Args[2:]))
	case "kubelet":
		os.Exit(runKubelet(os.Args[2:]))
	case "version":
		fmt.Println("kube-e2e: k8s.io/kubernetes v1.37.2, go.etcd.io/etcd/server/v3 v3.7.0")
	default:
		fmt.Fprintf(os.Stderr, "kube-e2e: unknown component %q (want apiserver or kubelet)\n", os.Args[1])
		os.Exit(2)
	}
}

func runAPIServer(args []string) int {
	fs := flag.NewFlagSet("apiserver", flag.ContinueOnError)
	etcdDir := fs.String("etcd-dir", "", "embedded etcd's data directory (required)")
	etcdClient := fs.String("etcd-client", "http://127.0.0.1:2379", "embedded etcd's client URL (loopback)")
	etcdPeer := fs.String("etcd-peer", "http://127.0.0.1:2380", "embedded etcd's peer URL (loopback)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *etcdDir == "" {
		fmt.Fprintln(os.Stderr, "kube-e2e apiserver: --etcd-dir is required")
		return 2
	}
	client, err := url.Parse(*etcdClient)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-e2e apiserver: --etcd-client: %v\n", err)
		return 2
	}
	peer, err := url.Parse(*etcdPeer)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-e2e apiserver: --etcd-peer: %v\n", err)
		return 2
	}

	cfg := embed.NewConfig()
	cfg.Name = "e2e"
	cfg.Dir = *etcdDir
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	// A test cluster's state is thrown away with its directory: fsync only
	// costs time on a disk shared with other engineers' builds.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-e2e apiserver: embedded etcd: %v\n", err)
		return 1
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		fmt.Fprintf(os.Stderr, "kube-e2e apiserver: embedded etcd: %v\n", err)
		return 1
	case <-time.After(60 * time.Second):
		fmt.Fprintln(os.Stderr, "kube-e2e apiserver: embedded etcd not ready after 60s")
		return 1
	}

	cmd := apiserver.NewAPIServerCommand()
	cmd.SetArgs(append([]string{"--etcd-servers=" + client.String()}, fs.Args()...))
	return cli.Run(cmd)
}

func runKubelet(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd := kubelet.NewKubeletCommand(ctx)
	cmd.SetArgs(args)
	return cli.Run(cmd)
}
