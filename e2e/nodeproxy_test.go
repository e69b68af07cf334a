package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/memsnap/memsnap/e2e/testbed"
)

// The kubelet endpoints memsnap reads through the API server (DESIGN §2,
// §6), as the node proxy path below /api/v1/nodes/NAME/proxy/.
var proxiedPaths = []string{"stats/summary", "pods", "configz", "metrics/cadvisor"}

// TestNodeProxy: the real kube-apiserver proxies each node's kubelet
// endpoints to the node's own TLS stand-in — at the Node's InternalIP and
// daemonEndpoints port — and hands back exactly what that stand-in serves:
// byte for byte what it serves directly, which is byte for byte the
// generated file. The nodes are generated differently, so an answer from
// the wrong node cannot pass. A user without nodes/proxy is refused; one
// with it is not. Then the bed is removed and nothing may be left.
func TestNodeProxy(t *testing.T) {
	bed := testbed.Start(t)
	shapes := []testbed.StandinOptions{
		{Pods: 4, ContainersPerPod: 2, Seed: 11},
		{Pods: 7, ContainersPerPod: 1, Seed: 12},
		{Pods: 3, ContainersPerPod: 3, Seed: 13},
	}
	nodes, err := bed.AddStandinNodes(shapes...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bed.Context(), 5*time.Minute)
	defer cancel()

	t.Run("proxy-byte-for-byte", func(t *testing.T) {
		for _, n := range nodes {
			direct := directClient(t, n)
			for _, p := range proxiedPaths {
				want, err := n.File(p)
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 {
					t.Fatalf("%s: generated %s is empty", n.Name, p)
				}
				served := get(t, direct, n.URL+"/"+p)
				proxied, err := proxyGet(ctx, bed.Client, n.Name, p)
				if err != nil {
					t.Fatalf("%s: node proxy %s: %v", n.Name, p, err)
				}
				if !bytes.Equal(served, want) {
					t.Errorf("%s /%s: the stand-in served %d bytes, its file has %d: %s", n.Name, p, len(served), len(want), firstDiff(served, want))
				}
				if !bytes.Equal(proxied, served) {
					t.Errorf("%s /%s: the node proxy returned %d bytes, the stand-in serves %d: %s", n.Name, p, len(proxied), len(served), firstDiff(proxied, served))
				}
				t.Logf("%s /%s: %d bytes identical through the node proxy", n.Name, p, len(proxied))
			}
		}
		// Distinct nodes, distinct answers: a proxy that always reached
		// one stand-in would fail above, unless the nodes were alike.
		for i := range nodes {
			for j := i + 1; j < len(nodes); j++ {
				a, _ := nodes[i].File("stats/summary")
				b, _ := nodes[j].File("stats/summary")
				if bytes.Equal(a, b) {
					t.Errorf("%s and %s serve the same summary: the test cannot tell them apart", nodes[i].Name, nodes[j].Name)
				}
			}
		}
	})

	t.Run("restricted-users", func(t *testing.T) {
		nodesOnly, err := bed.User("nodes-only", testbed.RuleReadNodes)
		if err != nil {
			t.Fatal(err)
		}
		proxier, err := bed.User("node-proxy", testbed.RuleReadNodes, testbed.RuleNodeProxy)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(proxier.Kubeconfig); err != nil {
			t.Fatalf("user kubeconfig: %v", err)
		}
		c1, err := kubernetes.NewForConfig(nodesOnly.Config)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c1.CoreV1().Nodes().Get(ctx, nodes[0].Name, metav1.GetOptions{}); err != nil {
			t.Errorf("nodes-only: get node: %v", err)
		}
		if _, err := proxyGet(ctx, c1, nodes[0].Name, "pods"); !apierrors.IsForbidden(err) {
			t.Errorf("nodes-only: node proxy /pods = %v, want Forbidden (no nodes/proxy)", err)
		}
		c2, err := kubernetes.NewForConfig(proxier.Config)
		if err != nil {
			t.Fatal(err)
		}
		got, err := proxyGet(ctx, c2, nodes[1].Name, "pods")
		if err != nil {
			t.Fatalf("node-proxy: node proxy /pods: %v", err)
		}
		if want, _ := nodes[1].File("pods"); !bytes.Equal(got, want) {
			t.Errorf("node-proxy: /pods through the proxy differs from the stand-in's file")
		}
		if _, err := c2.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("node-proxy: list pods = %v, want Forbidden", err)
		}
	})

	t.Run("nothing-left-behind", func(t *testing.T) {
		if err := bed.Close(); err != nil {
			t.Fatal(err)
		}
		testbed.CheckClean(t)
	})
}

func proxyGet(ctx context.Context, c kubernetes.Interface, node, path string) ([]byte, error) {
	return c.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", path).DoRaw(ctx)
}

// directClient trusts exactly the stand-in's self-signed certificate.
func directClient(t *testing.T, n *testbed.StandinNode) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(n.CertFile)
	if err != nil {
		t.Fatalf("%s: serving certificate: %v", n.Name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s: %s holds no certificate", n.Name, n.CertFile)
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func get(t *testing.T, hc *http.Client, url string) []byte {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

// firstDiff says where two byte strings first differ.
func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			lo := max(0, i-20)
			return fmt.Sprintf("first difference at byte %d: %q vs %q", i, a[lo:min(len(a), i+20)], b[lo:min(len(b), i+20)])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("one is a prefix of the other (%d vs %d bytes)", len(a), len(b))
	}
	return "identical"
}
