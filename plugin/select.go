package plugin

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// listPage bounds one list answer, so 5,000 pods never sit in one response.
const listPage = 500

func listOpts(cont string) metav1.ListOptions {
	return metav1.ListOptions{Limit: listPage, Continue: cont}
}

// listAll pages through a list until the server has no continuation.
func listAll(ctx context.Context, page func(ctx context.Context, cont string) (string, error)) error {
	cont := ""
	for {
		next, err := page(ctx, cont)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		cont = next
	}
}

// nodeName is a DNS-1123 subdomain (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names):
// it is also safe as a file name and a URL path segment, which the run relies on.
var nodeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func validNodeName(n string) error {
	if len(n) > 253 || !nodeName.MatchString(n) {
		return fmt.Errorf("%q is not a valid node name (a DNS-1123 subdomain)", n)
	}
	return nil
}

// Selected is a node the run collects and why it was picked.
type Selected struct {
	Name    string   `json:"name"`
	Reasons []string `json:"reasons,omitempty"` // --problem-nodes: what made it a problem
}

// SelectNodes resolves the node arguments, -l, --all and --problem-nodes.
func SelectNodes(ctx context.Context, cs kubernetes.Interface, o *Options) ([]Selected, error) {
	picked := map[string][]string{}
	var order []string
	add := func(n string, why ...string) {
		if _, ok := picked[n]; !ok {
			order = append(order, n)
			picked[n] = nil
		}
		for _, w := range why {
			if !slices.Contains(picked[n], w) {
				picked[n] = append(picked[n], w)
			}
		}
	}
	for _, n := range o.Nodes {
		if err := validNodeName(n); err != nil {
			return nil, err
		}
		add(n)
	}
	if o.All || o.Selector != "" {
		err := listAll(ctx, func(ctx context.Context, cont string) (string, error) {
			lo := listOpts(cont)
			lo.LabelSelector = o.Selector
			l, err := cs.CoreV1().Nodes().List(ctx, lo)
			if err != nil {
				return "", fmt.Errorf("listing nodes: %w", err)
			}
			for _, n := range l.Items {
				add(n.Name)
			}
			return l.Continue, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if o.ProblemNodes {
		probs, err := problemNodes(ctx, cs, o.Now().Add(-o.Since))
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(probs))
		for n := range probs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			add(n, probs[n]...)
		}
	}
	out := make([]Selected, 0, len(order))
	for _, n := range order {
		if err := validNodeName(n); err != nil {
			return nil, fmt.Errorf("the API server listed a node with an invalid name: %w", err)
		}
		out = append(out, Selected{Name: n, Reasons: picked[n]})
	}
	return out, nil
}

// Event reasons --problem-nodes looks for: the kernel OOM killer seen by
// node-problem-detector (OOMKilling), the kubelet's SystemOOM, and the
// kubelet's evictions (Evicted); see pkg/kubelet/events/event.go and
// pkg/kubelet/eviction/eviction_manager.go in kubernetes/kubernetes.
var problemReasons = []string{"OOMKilling", "SystemOOM", "Evicted"}

// problemNodes finds nodes with MemoryPressure, recent OOM or eviction
// events, or pods whose last termination was OOMKilled since since.
func problemNodes(ctx context.Context, cs kubernetes.Interface, since time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(n, why string) {
		if n == "" || validNodeName(n) != nil || slices.Contains(out[n], why) {
			return
		}
		out[n] = append(out[n], why)
	}
	err := listAll(ctx, func(ctx context.Context, cont string) (string, error) {
		l, err := cs.CoreV1().Nodes().List(ctx, listOpts(cont))
		if err != nil {
			return "", fmt.Errorf("--problem-nodes: listing nodes: %w", err)
		}
		for _, n := range l.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeMemoryPressure && c.Status == corev1.ConditionTrue {
					add(n.Name, "MemoryPressure")
				}
			}
		}
		return l.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	podNode := map[string]string{} // pod UID → node, for pod events
	err = listAll(ctx, func(ctx context.Context, cont string) (string, error) {
		l, err := cs.CoreV1().Pods("").List(ctx, listOpts(cont))
		if err != nil {
			return "", fmt.Errorf("--problem-nodes: listing pods: %w", err)
		}
		for _, p := range l.Items {
			podNode[string(p.UID)] = p.Spec.NodeName
			for _, st := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
				if t := st.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" && !t.FinishedAt.Time.Before(since) {
					add(p.Spec.NodeName, fmt.Sprintf("pod %s/%s container %s OOMKilled", p.Namespace, p.Name, st.Name))
				}
				if t := st.State.Terminated; t != nil && t.Reason == "OOMKilled" && !t.FinishedAt.Time.Before(since) {
					add(p.Spec.NodeName, fmt.Sprintf("pod %s/%s container %s OOMKilled", p.Namespace, p.Name, st.Name))
				}
			}
		}
		return l.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	err = listAll(ctx, func(ctx context.Context, cont string) (string, error) {
		l, err := cs.CoreV1().Events("").List(ctx, listOpts(cont))
		if err != nil {
			return "", fmt.Errorf("--problem-nodes: listing events: %w", err)
		}
		for _, e := range l.Items {
			if !slices.Contains(problemReasons, e.Reason) || eventTime(&e).Before(since) {
				continue
			}
			node := ""
			switch {
			case e.InvolvedObject.Kind == "Node":
				node = e.InvolvedObject.Name
			case podNode[string(e.InvolvedObject.UID)] != "":
				node = podNode[string(e.InvolvedObject.UID)]
			default:
				node = e.Source.Host // an evicted pod may be gone; the kubelet names its host
			}
			what := e.Reason + " event"
			if e.InvolvedObject.Kind == "Pod" {
				what += fmt.Sprintf(" for pod %s/%s", e.InvolvedObject.Namespace, e.InvolvedObject.Name)
			}
			add(strings.TrimSpace(node), what)
		}
		return l.Continue, nil
	})
	return out, err
}

// eventTime is when an event last happened, from whichever field its
// reporter filled.
func eventTime(e *corev1.Event) time.Time {
	for _, t := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
