package plugin

import (
	"context"
	"fmt"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Check is one permission the run asked the API server about
// (SelfSubjectAccessReview), for cluster.json and the report.
type Check struct {
	Verb        string `json:"verb"`
	Resource    string `json:"resource"` // resource[/subresource]
	Namespace   string `json:"namespace,omitempty"`
	Allowed     bool   `json:"allowed"`
	Reason      string `json:"reason,omitempty"`
	NeededFor   string `json:"needed_for"` // node | api | selection
	Description string `json:"description"`
}

// Access is what the user may do, as far as the run needs to know.
type Access struct {
	Checks []Check `json:"checks"`
}

// The permissions each mode needs; deploy/rbac-plugin.yaml grants exactly these.
func accessChecks(ns string) []Check {
	return []Check{
		{Verb: "create", Resource: "pods", Namespace: ns, NeededFor: ModeNode, Description: "create the collector pod"},
		{Verb: "get", Resource: "pods", Namespace: ns, NeededFor: ModeNode, Description: "wait for the collector pod"},
		{Verb: "delete", Resource: "pods", Namespace: ns, NeededFor: ModeNode, Description: "delete the collector pod"},
		{Verb: "create", Resource: "pods/exec", Namespace: ns, NeededFor: ModeNode, Description: "stream the collector in and the bundle out"},
		{Verb: "get", Resource: "nodes", NeededFor: ModeAPI, Description: "the Node object (kube/node.json)"},
		{Verb: "get", Resource: "nodes/proxy", NeededFor: ModeAPI, Description: "kubelet /stats/summary, /pods, /configz, /metrics/*, /debug/pprof/heap, node log query"},
		{Verb: "get", Resource: "nodes/stats", NeededFor: "info", Description: "kubelet stats when the kubelet authorises by subresource"},
		{Verb: "get", Resource: "nodes/metrics", NeededFor: "info", Description: "kubelet metrics when the kubelet authorises by subresource"},
		{Verb: "list", Resource: "pods", NeededFor: ModeAPI, Description: "the node's pods (kube/pods.json), --problem-nodes"},
		{Verb: "list", Resource: "events", NeededFor: ModeAPI, Description: "the node's and its pods' events (kube/events.json), --problem-nodes"},
		{Verb: "list", Resource: "nodes", NeededFor: "selection", Description: "-l, --all, --problem-nodes"},
	}
}

// ReviewAccess asks the API server which of the run's permissions the user has.
func ReviewAccess(ctx context.Context, cs kubernetes.Interface, ns string) (*Access, error) {
	a := &Access{}
	for _, c := range accessChecks(ns) {
		res, sub, _ := strings.Cut(c.Resource, "/")
		r := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authv1.ResourceAttributes{Namespace: c.Namespace, Verb: c.Verb, Resource: res, Subresource: sub},
		}}
		out, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, r, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("asking the API server what this user may do (SelfSubjectAccessReview %s %s): %w", c.Verb, c.Resource, err)
		}
		c.Allowed = out.Status.Allowed && !out.Status.Denied
		c.Reason = out.Status.Reason
		a.Checks = append(a.Checks, c)
	}
	return a, nil
}

// Can reports whether every permission a mode needs is allowed.
func (a *Access) Can(mode string) bool {
	return len(a.Missing(mode)) == 0
}

// Missing lists "verb resource" for each permission mode needs and lacks.
func (a *Access) Missing(mode string) []string {
	var out []string
	for _, c := range a.Checks {
		if c.NeededFor == mode && !c.Allowed {
			s := c.Verb + " " + c.Resource
			if c.Namespace != "" {
				s += " in namespace " + c.Namespace
			}
			out = append(out, s)
		}
	}
	return out
}

// allowed reports one check's answer (unknown = allowed: the request itself
// will say).
func (a *Access) allowed(verb, resource string) bool {
	for _, c := range a.Checks {
		if c.Verb == verb && c.Resource == resource {
			return c.Allowed
		}
	}
	return true
}
