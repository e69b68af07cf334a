// Package fakeapi is a small stand-in for the Kubernetes API server for the
// plugin's unit tests: nodes, pods, events, SelfSubjectAccessReview, the node
// proxy to per-node kubelet answers (with faults), and pods whose phase the
// test controls. It speaks real HTTP and JSON, so the plugin's client-go
// requests are the ones a real API server receives. The real API server is
// exercised by the e2e tests (e2e/plugin_test.go).
package fakeapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Server is the fake API server.
type Server struct {
	*httptest.Server

	mu     sync.Mutex
	nodes  map[string]*corev1.Node
	files  map[string]map[string][]byte // node → kubelet path → body
	faults map[string]map[string]string // node → kubelet path → "hang" | "403" | "404" | "500"
	pods   map[string]*corev1.Pod       // ns/name → pod (both collector pods and node pods)
	events []corev1.Event
	// Deny lists "verb resource" (resource[/subresource]) SelfSubjectAccessReviews deny.
	Deny map[string]bool
	// PodPhase is the phase collector pods get when created (default Running).
	PodPhase corev1.PodPhase
	created  []string
	deleted  []string
	seq      int
	Requests atomic.Int64
}

// New starts a fake API server; Close stops it.
func New() *Server {
	s := &Server{nodes: map[string]*corev1.Node{}, files: map[string]map[string][]byte{}, faults: map[string]map[string]string{},
		pods: map[string]*corev1.Pod{}, Deny: map[string]bool{}, PodPhase: corev1.PodRunning}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddNode adds a node whose kubelet serves files (path → body).
func (s *Server) AddNode(name, arch string, files map[string][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &corev1.Node{TypeMeta: metav1.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"kubernetes.io/arch": arch}}}
	n.Status.NodeInfo = corev1.NodeSystemInfo{Architecture: arch, OperatingSystem: "linux", KernelVersion: "6.1.0-test", KubeletVersion: "v1.37.2"}
	s.nodes[name] = n
	s.files[name] = files
	s.faults[name] = map[string]string{}
}

// SetNode lets a test change a node (conditions, labels).
func (s *Server) SetNode(name string, f func(*corev1.Node)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.nodes[name])
}

// DeleteNode removes a node (a node deleted mid-run).
func (s *Server) DeleteNode(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nodes, name)
}

// Fault makes node's kubelet fail on path: "hang", "403", "404", "500".
func (s *Server) Fault(node, path, fault string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[node][path] = fault
}

// AddPod adds a workload pod.
func (s *Server) AddPod(p *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Kind, p.APIVersion = "Pod", "v1"
	s.pods[p.Namespace+"/"+p.Name] = p
}

// AddEvent adds an event.
func (s *Server) AddEvent(e corev1.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

// Created and Deleted list the pods created through POST and deleted.
func (s *Server) Created() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.created...)
}
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// CollectorPods lists the collector pods that still exist.
func (s *Server) CollectorPods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, p := range s.pods {
		if p.Labels["app.kubernetes.io/name"] == "kubectl-memsnap" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Kubeconfig writes a kubeconfig for the server into dir.
func (s *Server) Kubeconfig(dir string) string {
	p := filepath.Join(dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: fake, context: {cluster: fake, user: u, namespace: memsnap}}]
current-context: fake
`, s.URL)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		panic(err)
	}
	return p
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	p := r.URL.Path
	switch {
	case p == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && r.Method == http.MethodPost:
		s.review(w, r)
	case p == "/api/v1/nodes" && r.Method == http.MethodGet:
		s.mu.Lock()
		l := corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}}
		for _, n := range sortedKeys(s.nodes) {
			if sel := r.URL.Query().Get("labelSelector"); sel != "" && !matches(s.nodes[n].Labels, sel) {
				continue
			}
			l.Items = append(l.Items, *s.nodes[n])
		}
		s.mu.Unlock()
		writeJSON(w, 200, l)
	case strings.HasPrefix(p, "/api/v1/nodes/"):
		rest := strings.TrimPrefix(p, "/api/v1/nodes/")
		name, sub, _ := strings.Cut(rest, "/")
		s.mu.Lock()
		n, ok := s.nodes[name]
		var nc corev1.Node
		if ok {
			nc = *n
		}
		s.mu.Unlock()
		if !ok {
			status(w, 404, "NotFound", fmt.Sprintf("nodes %q not found", name))
			return
		}
		if sub == "" {
			writeJSON(w, 200, nc)
			return
		}
		s.proxy(w, r, name, strings.TrimPrefix(sub, "proxy"))
	case p == "/api/v1/pods" && r.Method == http.MethodGet:
		node := strings.TrimPrefix(r.URL.Query().Get("fieldSelector"), "spec.nodeName=")
		s.mu.Lock()
		l := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: []corev1.Pod{}}
		for _, k := range sortedKeys(s.pods) {
			if node == "" || s.pods[k].Spec.NodeName == node {
				l.Items = append(l.Items, *s.pods[k])
			}
		}
		s.mu.Unlock()
		writeJSON(w, 200, l)
	case p == "/api/v1/events" && r.Method == http.MethodGet:
		if s.Deny["list events"] {
			status(w, 403, "Forbidden", "events is forbidden")
			return
		}
		s.mu.Lock()
		l := corev1.EventList{TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: "v1"}, Items: append([]corev1.Event{}, s.events...)}
		s.mu.Unlock()
		writeJSON(w, 200, l)
	case strings.HasPrefix(p, "/api/v1/namespaces/"):
		s.namespaced(w, r)
	default:
		status(w, 404, "NotFound", "no such path "+p)
	}
}

func (s *Server) review(w http.ResponseWriter, r *http.Request) {
	var rev authv1.SelfSubjectAccessReview
	if err := json.NewDecoder(r.Body).Decode(&rev); err != nil {
		status(w, 400, "BadRequest", err.Error())
		return
	}
	a := rev.Spec.ResourceAttributes
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	rev.Status.Allowed = !s.Deny[a.Verb+" "+res]
	if !rev.Status.Allowed {
		rev.Status.Reason = "denied by the test"
	}
	writeJSON(w, 201, rev)
}

func (s *Server) proxy(w http.ResponseWriter, r *http.Request, node, path string) {
	if s.Deny["get nodes/proxy"] {
		status(w, 403, "Forbidden", fmt.Sprintf("nodes %q is forbidden: cannot get resource \"nodes/proxy\"", node))
		return
	}
	s.mu.Lock()
	fault := s.faults[node][path]
	body, ok := s.files[node][path]
	s.mu.Unlock()
	switch fault {
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	case "403":
		status(w, 403, "Forbidden", "forbidden")
		return
	case "500":
		status(w, 500, "InternalError", "kubelet said 500")
		return
	}
	if !ok || fault == "404" {
		http.Error(w, "404 page not found", 404)
		return
	}
	w.WriteHeader(200)
	w.Write(body)
}

func (s *Server) namespaced(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/"), "/")
	if len(parts) < 2 || parts[1] != "pods" {
		status(w, 404, "NotFound", "no such path")
		return
	}
	ns := parts[0]
	switch {
	case len(parts) == 2 && r.Method == http.MethodPost:
		if s.Deny["create pods"] {
			status(w, 403, "Forbidden", "pods is forbidden")
			return
		}
		var p corev1.Pod
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			status(w, 400, "BadRequest", err.Error())
			return
		}
		s.mu.Lock()
		s.seq++
		p.Name = fmt.Sprintf("%s%05d", p.GenerateName, s.seq)
		p.Namespace = ns
		p.UID = types.UID(fmt.Sprintf("pod-uid-%d", s.seq))
		p.Status.Phase = s.PodPhase
		p.Kind, p.APIVersion = "Pod", "v1"
		s.pods[ns+"/"+p.Name] = &p
		s.created = append(s.created, ns+"/"+p.Name)
		s.mu.Unlock()
		writeJSON(w, 201, p)
	case len(parts) == 3 && r.Method == http.MethodGet:
		s.mu.Lock()
		p, ok := s.pods[ns+"/"+parts[2]]
		var pc corev1.Pod
		if ok {
			pc = *p
		}
		s.mu.Unlock()
		if !ok {
			status(w, 404, "NotFound", "pod not found")
			return
		}
		writeJSON(w, 200, pc)
	case len(parts) == 3 && r.Method == http.MethodDelete:
		s.mu.Lock()
		_, ok := s.pods[ns+"/"+parts[2]]
		delete(s.pods, ns+"/"+parts[2])
		if ok {
			s.deleted = append(s.deleted, ns+"/"+parts[2])
		}
		s.mu.Unlock()
		if !ok {
			status(w, 404, "NotFound", "pod not found")
			return
		}
		writeJSON(w, 200, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Success"})
	default:
		status(w, 405, "MethodNotAllowed", "not supported by the fake")
	}
}

func matches(labels map[string]string, sel string) bool {
	for _, term := range strings.Split(sel, ",") {
		k, v, _ := strings.Cut(term, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure",
		Code: int32(code), Reason: metav1.StatusReason(reason), Message: msg})
}

// ReadAll is io.ReadAll, for tests that read bodies.
var ReadAll = io.ReadAll
