package hostfixture

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KubeletMode is how the fake kubelet misbehaves.
type KubeletMode string

const (
	Healthy KubeletMode = ""
	Slow    KubeletMode = "slow"    // answers nothing until the client gives up
	Error   KubeletMode = "500"     // every endpoint fails
	Garbage KubeletMode = "garbage" // 200 with random bytes
)

// KubeletOptions configures the fake kubelet.
type KubeletOptions struct {
	Mode         KubeletMode
	Token        string // required bearer token ("" = none)
	TLS          bool   // serve HTTPS with a test CA (written to CAFile)
	MetricsBytes int    // size of /metrics/cadvisor (default 64 KiB)
	Profiles     int    // heap profile targets served at /targets/<i>/debug/pprof/heap
	ProfileBytes int    // size of each (default 64 KiB)
	// StaticSummary renders /stats/summary once and serves those bytes: a
	// benchmark running the kubelet in its own process then counts the
	// client's CPU, not the fixture's JSON encoding, in its figure.
	StaticSummary bool
}

// Kubelet is a running fake kubelet.
type Kubelet struct {
	*httptest.Server
	CAFile  string   // PEM of the serving certificate's CA, when TLS
	Targets []string // heap profile URLs, one per target
}

// Kubelet starts a fake kubelet API for h; Close it when done.
func (h *Host) Kubelet(o KubeletOptions) (*Kubelet, error) {
	if o.MetricsBytes == 0 {
		o.MetricsBytes = 64 << 10
	}
	if o.ProfileBytes == 0 {
		o.ProfileBytes = 64 << 10
	}
	mux := http.NewServeMux()
	if o.StaticSummary {
		body, err := json.Marshal(h.summary())
		if err != nil {
			return nil, err
		}
		mux.HandleFunc("/stats/summary", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})
	} else {
		mux.HandleFunc("/stats/summary", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, h.summary()) })
	}
	mux.HandleFunc("/pods", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, h.podList()) })
	mux.HandleFunc("/configz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, h.configz()) })
	mux.HandleFunc("/metrics/cadvisor", func(w http.ResponseWriter, r *http.Request) { h.metrics(w, o.MetricsBytes) })
	mux.HandleFunc("/metrics/resource", func(w http.ResponseWriter, r *http.Request) { h.metrics(w, 8<<10) })
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) { profile(w, 0, o.ProfileBytes) })
	for i := 1; i <= o.Profiles; i++ {
		mux.HandleFunc(fmt.Sprintf("/targets/%d/debug/pprof/heap", i), func(w http.ResponseWriter, r *http.Request) { profile(w, uint64(i), o.ProfileBytes) })
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Token != "" && !strings.HasPrefix(r.URL.Path, "/targets/") && r.Header.Get("Authorization") != "Bearer "+o.Token {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		// The pprof targets stand for other processes: the kubelet's mode
		// does not apply to them.
		if strings.HasPrefix(r.URL.Path, "/targets/") {
			mux.ServeHTTP(w, r)
			return
		}
		switch o.Mode {
		case Slow:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Minute):
			}
			return
		case Error:
			http.Error(w, "Internal Server Error: fixture", http.StatusInternalServerError)
			return
		case Garbage:
			io.CopyN(w, rand.NewChaCha8([32]byte{7}), 4096)
			return
		}
		mux.ServeHTTP(w, r)
	})
	k := &Kubelet{}
	if o.TLS {
		k.Server = httptest.NewTLSServer(handler)
		k.CAFile = filepath.Join(h.Root, "..", filepath.Base(h.Root)+"-kubelet-ca.pem")
		der := k.Server.Certificate().Raw
		if err := os.WriteFile(k.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			k.Close()
			return nil, err
		}
	} else {
		k.Server = httptest.NewServer(handler)
	}
	for i := 1; i <= o.Profiles; i++ {
		k.Targets = append(k.Targets, fmt.Sprintf("%s/targets/%d/debug/pprof/heap", k.URL, i))
	}
	return k, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// profile streams n deterministic bytes that start like gzip: the
// collector must store them byte-exact without parsing.
func profile(w http.ResponseWriter, seed uint64, n int) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write([]byte{0x1f, 0x8b, 0x08, 0x00})
	io.CopyN(w, rand.NewChaCha8([32]byte{byte(seed), 1}), int64(n-4))
}

// metrics streams about n bytes of cAdvisor-shaped Prometheus text, with a
// secret in a container_env_* label (cAdvisor's env metadata, DOMAIN §6).
func (h *Host) metrics(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	bw := bufio.NewWriterSize(w, 32<<10)
	defer bw.Flush()
	written := 0
	put := func(s string) { written += len(s); bw.WriteString(s) }
	put("# HELP cadvisor_version_info A metric with a constant '1' value.\n# TYPE cadvisor_version_info gauge\n")
	put("cadvisor_version_info{cadvisorRevision=\"\",cadvisorVersion=\"\",dockerVersion=\"\",kernelVersion=\"6.1.0-fixture\",osVersion=\"Fixture Linux\"} 1\n")
	put("# HELP container_memory_working_set_bytes Current working set in bytes.\n# TYPE container_memory_working_set_bytes gauge\n")
	p := h.Pods[0]
	put(fmt.Sprintf("container_memory_rss{container=\"main\",container_env_db_password=\"%s\",id=\"/%s\",namespace=\"%s\",pod=\"%s\"} 2.62144e+08\n", secretMetricsLabel, p.Containers[1].Cgroup, p.Namespace, p.Name))
	for i := 0; written < n; i++ {
		p := h.Pods[i%len(h.Pods)]
		c := p.Containers[i%len(p.Containers)]
		put(fmt.Sprintf("container_memory_working_set_bytes{container=\"%s\",id=\"/%s\",image=\"registry.local/app:1\",name=\"%s\",namespace=\"%s\",pod=\"%s\"} %d 1763886400000\n",
			c.Name, c.Cgroup, c.ID, p.Namespace, p.Name, 20<<20+i))
	}
}

func (h *Host) podList() any {
	var items []any
	for i, p := range h.Pods {
		var ctrs, statuses []any
		for _, c := range p.Containers[1:] {
			res := map[string]any{}
			if c.LimitBytes > 0 {
				res["limits"] = map[string]string{"memory": fmt.Sprint(c.LimitBytes)}
				res["requests"] = map[string]string{"memory": fmt.Sprint(c.LimitBytes / 2)}
				if p.QoS == "guaranteed" {
					res["requests"] = res["limits"]
				}
			}
			ctr := map[string]any{"name": c.Name, "image": "registry.local/app:1", "resources": res}
			if i == 0 && c.Name == "main" {
				ctr["env"] = []map[string]string{
					{"name": "DB_PASSWORD", "value": secretEnvPassword},
					{"name": "SA_TOKEN", "value": secretEnvJWT},
					{"name": "HTTP_PROXY", "value": "http://proxyuser:" + secretURLPassword + "@proxy.local:3128"},
					{"name": "LOG_LEVEL", "value": "info"},
				}
			}
			ctrs = append(ctrs, ctr)
			st := map[string]any{"name": c.Name, "containerID": "containerd://" + c.ID, "ready": true, "restartCount": 0,
				"state": map[string]any{"running": map[string]string{"startedAt": "2025-11-23T11:00:00Z"}}}
			if i == 0 && c.Name == "main" {
				st["restartCount"] = 1
				st["lastState"] = map[string]any{"terminated": map[string]any{"exitCode": 137, "reason": "OOMKilled"}}
			}
			statuses = append(statuses, st)
		}
		spec := map[string]any{"nodeName": h.Opt.NodeName, "containers": ctrs}
		if i == 2 {
			spec["volumes"] = []any{map[string]any{"name": "scratch space", "emptyDir": map[string]string{"medium": "Memory"}}}
		}
		qos := map[string]string{"burstable": "Burstable", "besteffort": "BestEffort", "guaranteed": "Guaranteed"}[p.QoS]
		items = append(items, map[string]any{
			"metadata": map[string]any{"name": p.Name, "namespace": p.Namespace, "uid": p.UID},
			"spec":     spec,
			"status":   map[string]any{"phase": "Running", "qosClass": qos, "containerStatuses": statuses},
		})
	}
	return map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{}, "items": items}
}

func (h *Host) configz() any {
	return map[string]any{"kubeletconfig": map[string]any{
		"cgroupDriver": h.Opt.Driver, "cgroupsPerQOS": true, "enforceNodeAllocatable": []string{"pods"},
		"kubeReserved": map[string]string{"memory": "1Gi"}, "systemReserved": map[string]string{"memory": "1Gi"},
		"evictionHard":       map[string]string{"memory.available": "100Mi"},
		"staticPodURLHeader": map[string][]string{"Authorization": {"Bearer " + secretConfigBearer}},
	}}
}

func (h *Host) summary() any {
	var pods []any
	for _, p := range h.Pods {
		var ctrs []any
		for _, c := range p.Containers[1:] {
			ctrs = append(ctrs, map[string]any{"name": c.Name, "memory": map[string]any{"time": "2025-11-23T12:00:00Z", "usageBytes": 31 << 20, "workingSetBytes": 26 << 20, "rssBytes": 20 << 20}})
		}
		pods = append(pods, map[string]any{
			"podRef":     map[string]string{"name": p.Name, "namespace": p.Namespace, "uid": p.UID},
			"containers": ctrs,
			"memory":     map[string]any{"time": "2025-11-23T12:00:00Z", "usageBytes": 63 << 20, "workingSetBytes": 53 << 20},
		})
	}
	return map[string]any{
		"node": map[string]any{"nodeName": h.Opt.NodeName, "memory": map[string]any{"time": "2025-11-23T12:00:00Z", "availableBytes": 4 << 30, "usageBytes": 14 << 30, "workingSetBytes": 12 << 30},
			"systemContainers": []any{map[string]any{"name": "pods", "memory": map[string]any{"availableBytes": 1 << 30, "usageBytes": 11 << 30, "workingSetBytes": 11 << 30}}}},
		"pods": pods,
	}
}
