package main

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

// TestKubeNodeObject: the kube source fetches /api/v1/nodes/<node> from the
// API server with the token, verifying the server against --apiserver-ca,
// and stores the answer as kube/node.json; without credentials it is
// skipped, and a refusal is a failed source with the server's words.
func TestKubeNodeObject(t *testing.T) {
	const node = `{"kind":"Node","metadata":{"name":"node-a"},"status":{"allocatable":{"memory":"13Gi"}}}`
	var gotAuth, gotPath string
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		if r.Header.Get("Authorization") != "Bearer s3cr3t" {
			http.Error(w, `{"kind":"Status","reason":"Forbidden"}`, http.StatusForbidden)
			return
		}
		w.Write([]byte(node))
	}))
	defer api.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o644)
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("s3cr3t\n"), 0o600)
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("nope\n"), 0o600)

	for _, tc := range []struct {
		name      string
		set       func(o *Options)
		status    string
		errSubstr string
	}{
		{"fetched", func(o *Options) { o.APIServer, o.APIServerCA, o.APIServerTokenFile = api.URL, ca, token }, bundle.StatusOK, ""},
		{"refused", func(o *Options) { o.APIServer, o.APIServerCA, o.APIServerTokenFile = api.URL, ca, wrong }, bundle.StatusFailed, "403 Forbidden"},
		{"unknown CA", func(o *Options) { o.APIServer, o.APIServerTokenFile = api.URL, token }, bundle.StatusFailed, "certificate"},
		{"off", func(o *Options) { o.APIServer = "off" }, bundle.StatusSkipped, "--apiserver off"},
		{"not in a pod", func(o *Options) {
			o.APIServer = "auto"
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
		}, bundle.StatusSkipped, "not in a pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotAuth, gotPath = "", ""
			h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{})
			o := testOptions(t, h, k)
			o.Pprof, o.NodeName = nil, "node-a"
			tc.set(o)
			if code := Run(context.Background(), o); code != exitOK {
				t.Fatalf("exit %d", code)
			}
			rb := readBundle(t, o.Output)
			s := rb.source(t, bundle.SourceKube)
			if s.Status != tc.status || !strings.Contains(s.Error, tc.errSubstr) {
				t.Errorf("kube source %s %q, want %s containing %q", s.Status, s.Error, tc.status, tc.errSubstr)
			}
			got, ok := rb.files[bundle.KubeNode]
			if ok != (tc.status == bundle.StatusOK) || (ok && string(got) != node) {
				t.Errorf("kube/node.json present=%v %q", ok, got)
			}
			if tc.status == bundle.StatusOK && (gotPath != "/api/v1/nodes/node-a" || gotAuth != "Bearer s3cr3t") {
				t.Errorf("request %s with %q", gotPath, gotAuth)
			}
			if strings.Contains(s.Error, "s3cr3t") {
				t.Error("the token leaked into the manifest")
			}
		})
	}
}
