// Package e2e holds memsnap's end-to-end tests against a real Kubernetes:
// a real kube-apiserver with embedded etcd, TLS kubelet stand-ins, and a
// real kubelet with containerd (docs/e2e.md). Everything runs inside
// namespaces the test binary creates (testbed.Main).
package e2e

import (
	"testing"

	"github.com/memsnap/memsnap/e2e/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m) }
