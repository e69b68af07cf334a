package redact

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// jwt is a syntactically real (unsigned) service-account token shape.
const jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLWJ5dGVz"

// SecretShapes are the shapes the collector must never let through; the
// host fixture plants the same values in argv, pods.json, kubelet config
// and logs. Each line holds exactly one secret.
var secretShapes = []struct {
	name, line, secret, rule string
}{
	{"bearer header", "I0101 curl -H 'Authorization: Bearer s3cr3tBearerValue123' https://x", "s3cr3tBearerValue123", "bearer-token"},
	{"token flag", "--token=flagTokenValue42", "flagTokenValue42", "flag-secret"},
	{"password flag with space", "exec /bin/agent --db-password hunter2pass -v=2", "hunter2pass", "flag-secret"},
	{"jwt in env value", `{"name":"SA","value":"` + jwt + `"}`, jwt, "jwt"},
	{"kubeconfig token", "    token: kubeconfigTokenValue77", "kubeconfigTokenValue77", "yaml-secret"},
	{"basic-auth url", "proxy https://admin:urlPassw0rd@registry.example.com/v2/", "urlPassw0rd", "url-credentials"},
	{"client-key-data", "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=", "yaml-secret"},
	{"pod env password", `"env":[{"name":"DB_PASSWORD","value":"podEnvPassword9"}]`, "podEnvPassword9", "pod-env-secret"},
	{"json token member", `{"bootstrapToken":"jsonTokenValue11"}`, "jsonTokenValue11", "json-secret"},
	{"env assignment", `Environment="AWS_SECRET_ACCESS_KEY=envSecretValue33"`, "envSecretValue33", "env-secret"},
	{"aws access key", "using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE", "aws-access-key"},
	{"github token", "GIT token ghp_abcdefghijklmnopqrstuvwxyz0123456789AB cloned", "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "github-token"},
	{"slack token", "notify xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij", "slack-token"},
	{"inline private key", `"key":"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"`, `MIIEpAIBAAKCAQEA`, "private-key"},
	{"prometheus env label", `container_memory_rss{container_env_api_key="labelApiKey5",id="/"} 1`, "labelApiKey5", "env-secret"},
}

func TestSecretShapes(t *testing.T) {
	for _, tc := range secretShapes {
		t.Run(tc.name, func(t *testing.T) {
			c := Counts{}
			out := string(Line([]byte(tc.line), c))
			if strings.Contains(out, tc.secret) {
				t.Fatalf("secret survived: %s", out)
			}
			if !strings.Contains(out, Replacement) || c[tc.rule] == 0 {
				t.Errorf("want rule %s to fire, counts %v, out %s", tc.rule, c, out)
			}
			// Redacting again changes nothing.
			if again := string(Line([]byte(out), Counts{})); again != out {
				t.Errorf("not idempotent:\n%s\n%s", out, again)
			}
		})
	}
}

func TestKeepsEvidence(t *testing.T) {
	for _, line := range []string{
		"--kubelet-token-file=/var/run/secrets/kubernetes.io/serviceaccount/token",
		"tlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key",
		`{"name":"TOKEN_PATH","value":"/etc/token"}`,
		"total_active_file 811233280",
		`container_memory_working_set_bytes{container="app",id="/kubepods/burstable/pod1"} 8.5e+08`,
		"[ 5.140900] Memory cgroup out of memory: Killed process 4242 (java) total-vm:1kB",
		"secretName: my-secret",
		"--cgroup-driver=systemd",
	} {
		c := Counts{}
		if out := string(Line([]byte(line), c)); out != line {
			t.Errorf("changed evidence:\n in %s\nout %s (%v)", line, out, c)
		}
	}
}

func TestReaderAcrossLines(t *testing.T) {
	in := "/usr/bin/kubelet\x00--token\x00argvSecretValue\x00--v=2\x00" +
		"apiVersion: v1\nkey: |\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBase64Body\nMoreBody\n-----END EC PRIVATE KEY-----\nafter: ok\n" +
		"no newline at end token: tail"
	r := NewReader(iotest.HalfReader(strings.NewReader(in)))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, secret := range []string{"argvSecretValue", "MHcCAQEEIBase64Body", "MoreBody"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s survived:\n%q", secret, s)
		}
	}
	for _, keep := range []string{"--v=2\x00", "after: ok\n", "-----END EC PRIVATE KEY-----\n", "/usr/bin/kubelet\x00"} {
		if !strings.Contains(s, keep) {
			t.Errorf("lost %q:\n%q", keep, s)
		}
	}
	if strings.Count(s, "\n") != strings.Count(in, "\n") || strings.Count(s, "\x00") != strings.Count(in, "\x00") {
		t.Errorf("separators changed")
	}
	c := r.Counts()
	if c["flag-secret-argument"] != 1 || c["private-key-block"] != 2 {
		t.Errorf("counts %v", c)
	}
}

// A pods.json is one long line: an env entry straddling the segment cut
// must still be found.
func TestLongLine(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 3*maxSegment; i++ {
		b.WriteString(`{"name":"FILLER","value":"` + strings.Repeat("x", 97) + `"},`)
		if i%50 == 0 {
			b.WriteString(`{"name":"APP_PASSWORD","value":"longLineSecret"},`)
		}
	}
	b.WriteString(`]}`)
	out, err := io.ReadAll(NewReader(bytes.NewReader(b.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("longLineSecret")) {
		t.Error("secret survived in a long line")
	}
	if len(out) != b.Len()-strings.Count(b.String(), "longLineSecret")*(len("longLineSecret")-len(Replacement)) {
		t.Errorf("length %d: something besides the secrets changed", len(out))
	}
}

func FuzzReader(f *testing.F) {
	for _, tc := range secretShapes {
		f.Add([]byte(tc.line))
	}
	f.Add([]byte("a\x00--password\x00x\n-----BEGIN PRIVATE KEY-----\nabc\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(out, []byte{'\n'}) != bytes.Count(in, []byte{'\n'}) {
			t.Fatalf("newlines changed: %q -> %q", in, out)
		}
		again, _ := io.ReadAll(NewReader(bytes.NewReader(out)))
		if !bytes.Equal(again, out) && !bytes.Contains(in, []byte("PRIVATE KEY")) && !bytes.Contains(out, []byte("-")) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

// BenchmarkReaderMetrics: the collector pipes the kubelet's cAdvisor
// metrics (~40 MB on a 250-pod node) through redaction; almost no line
// holds a secret, so the cost is the per-line trigger search.
func BenchmarkReaderMetrics(b *testing.B) {
	var in bytes.Buffer
	for i := 0; in.Len() < 4<<20; i++ {
		fmt.Fprintf(&in, "container_memory_working_set_bytes{container=\"app-%d\",id=\"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%08x.slice\",image=\"ghcr.io/acme/api:2.14.1\",name=\"%064x\",namespace=\"payments\",pod=\"api-%d\"} %d 1763892000000\n", i, i, i, i, i*4096)
	}
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		if _, err := io.Copy(io.Discard, NewReader(bytes.NewReader(in.Bytes()))); err != nil {
			b.Fatal(err)
		}
	}
}
