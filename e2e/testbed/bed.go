package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Timeouts of the bed, generous on purpose: the machine has 2 cores shared
// with other engineers' builds. Measured figures are in docs/e2e.md.
const (
	// APIServerReadyTimeout: /readyz answered in under 25 s alone.
	APIServerReadyTimeout = 3 * time.Minute
	stopGrace             = 15 * time.Second
)

// Bed is one running control plane: an embedded etcd and a real
// kube-apiserver on 192.0.2.1, with an admin kubeconfig, plus whatever the
// test adds (stand-in nodes, a real kubelet). Close (registered with
// t.Cleanup, and run on SIGINT/SIGTERM) removes all of it.
type Bed struct {
	t   testing.TB
	ctx context.Context
	Bin Bin
	// Dir is the bed's directory (certificates, logs, etcd data, node
	// trees); it lies inside the run directory and is removed with it.
	Dir string
	// Kubeconfig is the admin kubeconfig's path (system:masters).
	Kubeconfig string
	// Config and Client talk to the API server as admin.
	Config *rest.Config
	Client kubernetes.Interface
	// APIServerURL is https://192.0.2.1:PORT; CAFile its certificate.
	APIServerURL string
	CAFile       string

	saKey, saPub string
	apiserver    *process

	mu       sync.Mutex
	procs    []*process
	cleanups []func() error
	closed   bool
}

var (
	bedsMu sync.Mutex
	beds   = map[*Bed]bool{}
	bedSeq int
)

// interruptOnSignal tears every live bed down on SIGINT/SIGTERM/SIGHUP
// (passed on by the namespace's init) and exits non-zero.
func interruptOnSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "testbed: %v: tearing down the beds\n", s)
		bedsMu.Lock()
		live := make([]*Bed, 0, len(beds))
		for b := range beds {
			live = append(live, b)
		}
		bedsMu.Unlock()
		for _, b := range live {
			if err := b.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "testbed:", err)
			}
		}
		os.Exit(1)
	}()
}

// Start starts a control plane for t and registers its teardown. It fails
// t when the bed is not running inside testbed.Main's namespaces.
func Start(t testing.TB) *Bed {
	t.Helper()
	if os.Getenv(envStage) != "test" {
		t.Fatal("testbed.Start outside testbed.Main: the package's TestMain must call testbed.Main(m)")
	}
	bedsMu.Lock()
	bedSeq++
	seq := bedSeq
	bedsMu.Unlock()
	dir := filepath.Join(os.Getenv(envWork), "bed-"+strconv.Itoa(seq))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bed{t: t, ctx: ctx, Bin: Bin{Dir: os.Getenv(envBin)}, Dir: dir}
	bedsMu.Lock()
	beds[b] = true
	bedsMu.Unlock()
	b.cleanup(func() error { cancel(); return nil })
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("testbed teardown: %v", err)
		}
	})
	if err := b.startAPIServer(seq); err != nil {
		t.Fatal(err)
	}
	return b
}

// cleanup registers fn to run at Close, in reverse order of registration.
func (b *Bed) cleanup(fn func() error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, fn)
}

// track registers a process to stop at Close (after the cleanups
// registered later than it, before those registered earlier).
func (b *Bed) track(p *process) {
	b.cleanup(func() error { p.stop(stopGrace); return nil })
}

// Close stops everything the bed started, newest first, and removes its
// mounts and cgroups. It is idempotent. With MEMSNAP_E2E_HOLD=DURATION it
// first waits that long, so a person can look at the running cluster.
func (b *Bed) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	fns := b.cleanups
	b.cleanups = nil
	b.mu.Unlock()
	if d, err := time.ParseDuration(os.Getenv(envKeep)); err == nil && d > 0 {
		fmt.Fprintf(os.Stderr, "testbed: holding the bed for %s: kubectl --kubeconfig %s get pods -A\n", d, b.Kubeconfig)
		time.Sleep(d)
	}
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](); err != nil {
			errs = append(errs, err)
		}
	}
	bedsMu.Lock()
	delete(beds, b)
	bedsMu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}

// Context is cancelled when the bed closes.
func (b *Bed) Context() context.Context { return b.ctx }

// startAPIServer writes the PKI, token file and flags, starts
// kube-e2e apiserver and waits for /readyz.
func (b *Bed) startAPIServer(seq int) error {
	pki := filepath.Join(b.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	crt, key, err := writeServingCert(pki, "apiserver", APIServerIP, "127.0.0.1", "localhost",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "198.51.100.1")
	if err != nil {
		return err
	}
	b.CAFile = crt
	if b.saPub, b.saKey, err = writeServiceAccountKey(pki); err != nil {
		return err
	}
	// Static tokens (--token-auth-file): token,user,uid,"groups". Only the
	// admin; restricted users get service-account tokens (User).
	adminToken := randomToken()
	tokens := filepath.Join(pki, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+",memsnap-e2e-admin,memsnap-e2e-admin,\"system:masters\"\n"), 0o600); err != nil {
		return err
	}
	port := 6443 + seq - 1
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", 2379+2*(seq-1))
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", 2380+2*(seq-1))
	b.APIServerURL = fmt.Sprintf("https://%s:%d", APIServerIP, port)
	argv := []string{b.Bin.Path("kube-e2e"), "apiserver",
		"--etcd-dir", filepath.Join(b.Dir, "etcd"), "--etcd-client", etcdClient, "--etcd-peer", etcdPeer, "--",
		"--advertise-address=" + APIServerIP,
		"--bind-address=" + APIServerIP,
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + crt, "--tls-private-key-file=" + key,
		"--cert-dir=" + pki,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + b.saPub,
		"--service-account-signing-key-file=" + b.saKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		// Nodes are reached at their InternalIP only: the bed has no DNS,
		// and a Node's Hostname address would need one.
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true", // memsnap-collect runs as a privileged pod
		"--profiling=false",
		"--v=1",
	}
	p, err := startProcess(b.Dir, "apiserver", nil, argv...)
	if err != nil {
		return err
	}
	b.apiserver = p
	b.track(p)

	pemBytes, err := os.ReadFile(crt)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	start := time.Now()
	err = p.waitFor(b.ctx, "kube-apiserver /readyz", APIServerReadyTimeout, func() (bool, error) {
		req, _ := http.NewRequest("GET", b.APIServerURL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return false, fmt.Errorf("/readyz: %s", resp.Status)
		}
		return true, nil
	})
	hc.CloseIdleConnections()
	if err != nil {
		return err
	}
	b.t.Logf("testbed: kube-apiserver ready at %s after %s", b.APIServerURL, time.Since(start).Round(100*time.Millisecond))

	b.Config = &rest.Config{Host: b.APIServerURL, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: crt}, QPS: 50, Burst: 100}
	if b.Client, err = kubernetes.NewForConfig(b.Config); err != nil {
		return err
	}
	b.Kubeconfig = filepath.Join(b.Dir, "admin.kubeconfig")
	if err := writeKubeconfig(b.Kubeconfig, b.APIServerURL, crt, "memsnap-e2e-admin", adminToken); err != nil {
		return err
	}
	return nil
}

// Namespace creates a namespace with its "default" ServiceAccount (the bed
// runs no controller-manager, whose job that otherwise is; the
// ServiceAccount admission plugin refuses pods without it).
func (b *Bed) Namespace(name string) error {
	ctx := b.ctx
	_, err := b.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	no := false
	_, err = b.Client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: "default"},
		AutomountServiceAccountToken: &no,
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create serviceaccount %s/default: %w", name, err)
	}
	return nil
}
