package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/ptr"
)

// Labels on every pod a run creates: a later run or a human can find (and
// delete) what a killed run left.
const (
	LabelApp = "app.kubernetes.io/name"
	LabelRun = "memsnap.io/run"
	appName  = "kubectl-memsnap"

	containerName = "collect"
	workDir       = "/memsnap"
	collectorPath = workDir + "/memsnap-collect"
	hostMount     = "/host"
)

// Execer runs a command in a pod's container, streaming stdin in and
// stdout/stderr out (kubectl exec's machinery).
type Execer interface {
	Exec(ctx context.Context, ns, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// RESTExecer execs through the API server: WebSocket first, SPDY when the
// server cannot upgrade to it (as kubectl exec does since v1.30).
type RESTExecer struct {
	Config *rest.Config
	Client kubernetes.Interface
}

// Exec implements Execer.
func (e RESTExecer) Exec(ctx context.Context, ns, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	u := e.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdin: stdin != nil, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	ws, err := remotecommand.NewWebSocketExecutor(e.Config, "GET", u.String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.Config, "POST", u)
	if err != nil {
		return err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// podTracker remembers every pod the run created until it is deleted, so
// an interrupted run can delete them all.
type podTracker struct {
	cs kubernetes.Interface
	ns string
	mu sync.Mutex
	m  map[string]bool
}

func (t *podTracker) add(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[name] = true
}

// delete removes one pod; it waits at most 30 s whatever ctx says, so a
// cancelled run still cleans up.
func (t *podTracker) delete(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := t.cs.CoreV1().Pods(t.ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", t.ns, name, err)
	}
	t.mu.Lock()
	delete(t.m, name)
	t.mu.Unlock()
	return nil
}

// deleteAll deletes every pod still tracked and returns the ones it could not.
func (t *podTracker) deleteAll() []error {
	t.mu.Lock()
	names := make([]string, 0, len(t.m))
	for n := range t.m {
		names = append(names, n)
	}
	t.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := t.delete(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// errPodNotRunning says the node-mode pod never ran: the node falls back to
// API mode.
type errPodNotRunning struct{ reason string }

func (e *errPodNotRunning) Error() string { return e.reason }

// collectorPod is the pod pinned to node: hostPID and hostNetwork (the
// collector reads /proc of the host's processes and the kubelet on
// 127.0.0.1:10250), privileged with the host's / at /host read-only,
// tolerating every taint (memory-pressure and NoExecute included: the nodes
// that matter are often tainted), tiny requests, no service-account token
// unless asked. activeDeadlineSeconds ends it even if the plugin is killed
// before it can delete it.
func collectorPod(o *Options, runID, node string) *corev1.Pod {
	deadline := int64(o.nodeBudget()/time.Second) + 60
	sleep := strconv.FormatInt(deadline, 10)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "memsnap-",
			Namespace:    o.Namespace,
			Labels:       map[string]string{LabelApp: appName, LabelRun: runID},
			Annotations:  map[string]string{"memsnap.io/node": node},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostPID:                       true,
			HostNetwork:                   true,
			DNSPolicy:                     corev1.DNSClusterFirstWithHostNet,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         &deadline,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			AutomountServiceAccountToken:  ptr.To(o.MountToken),
			ServiceAccountName:            o.ServiceAccount,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			PriorityClassName:             "",
			Containers: []corev1.Container{{
				Name:            containerName,
				Image:           o.Image,
				ImagePullPolicy: corev1.PullPolicy(o.ImagePullPolicy),
				// The container only waits for the two execs; it ends by
				// itself when its time is up.
				Command: []string{"/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep " + sleep + " & wait"},
				Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
					// memsnap-collect stays below 30 MB (DESIGN §5); the limit
					// keeps a misbehaving run from adding to a node's trouble.
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "host", MountPath: hostMount, ReadOnly: true},
					{Name: "work", MountPath: workDir},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
				{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("256Mi"))}}},
			},
		},
	}
	return p
}

// nodeCollector runs node mode.
type nodeCollector struct {
	cs      kubernetes.Interface
	exec    Execer
	opt     *Options
	runID   string
	tracker *podTracker
}

// collect runs the collector in a pod on node and streams the bundle to
// out. A pod that never runs is reported as *errPodNotRunning.
func (c *nodeCollector) collect(ctx context.Context, node, arch string, out io.Writer, bytesRead func(int64)) (podName string, err error) {
	bin, err := c.opt.Collectors.Collector(arch)
	if err != nil {
		return "", &errPodNotRunning{reason: err.Error()}
	}
	created, err := c.cs.CoreV1().Pods(c.opt.Namespace).Create(ctx, collectorPod(c.opt, c.runID, node), metav1.CreateOptions{})
	if err != nil {
		return "", &errPodNotRunning{reason: fmt.Sprintf("creating the collector pod: %v", err)}
	}
	podName = created.Name
	c.tracker.add(podName)
	defer func() {
		if derr := c.tracker.delete(podName); derr != nil && err == nil {
			err = derr
		}
	}()
	if err := c.waitRunning(ctx, podName); err != nil {
		return podName, err
	}

	// 1. the collector in: cat writes it, wc -c says how much arrived.
	var stdout, stderr bytes.Buffer
	upload := []string{"/bin/sh", "-c", "cat > " + collectorPath + " && chmod 0755 " + collectorPath + " && wc -c < " + collectorPath}
	if err := c.exec.Exec(ctx, c.opt.Namespace, podName, containerName, upload, bytes.NewReader(bin), &stdout, &stderr); err != nil {
		return podName, fmt.Errorf("streaming the collector into pod %s: %v%s", podName, err, tail(stderr.Bytes()))
	}
	if got := strings.TrimSpace(stdout.String()); got != strconv.Itoa(len(bin)) {
		return podName, fmt.Errorf("streaming the collector into pod %s: %s bytes arrived of %d%s", podName, got, len(bin), tail(stderr.Bytes()))
	}

	// 2. the bundle out, over stdout.
	args := []string{collectorPath, "--host-root", hostMount, "-o", "-", "--node-name", node,
		"--since", c.opt.Since.String(), "--spool-dir", workDir}
	if c.opt.Watch > 0 {
		args = append(args, "--watch", c.opt.Watch.String())
		if c.opt.Every > 0 {
			args = append(args, "--every", c.opt.Every.String())
		}
	}
	args = append(args, c.opt.CollectorArgs...)
	stderr.Reset()
	if err := c.exec.Exec(ctx, c.opt.Namespace, podName, containerName, args, nil, &countingWriter{w: out, n: bytesRead}, &limitedBuffer{b: &stderr, max: 64 << 10}); err != nil {
		return podName, fmt.Errorf("running the collector in pod %s: %v%s", podName, err, tail(stderr.Bytes()))
	}
	return podName, nil
}

// waitRunning polls the pod until it runs; Pending past --pod-timeout, or
// a pod that ended, is errPodNotRunning with the reason Kubernetes gives.
func (c *nodeCollector) waitRunning(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opt.PodTimeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last *corev1.Pod
	for {
		p, err := c.cs.CoreV1().Pods(c.opt.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			switch p.Status.Phase {
			case corev1.PodRunning:
				return nil
			case corev1.PodFailed, corev1.PodSucceeded:
				return &errPodNotRunning{reason: fmt.Sprintf("collector pod %s ended (%s) before it ran: %s", name, p.Status.Phase, podReason(p))}
			}
		}
		select {
		case <-ctx.Done():
			if last == nil {
				return &errPodNotRunning{reason: fmt.Sprintf("collector pod %s: %v", name, err)}
			}
			return &errPodNotRunning{reason: fmt.Sprintf("collector pod %s still %s after --pod-timeout %s: %s", name, last.Status.Phase, c.opt.PodTimeout, podReason(last))}
		case <-tick.C:
		}
	}
}

// podReason is the most specific reason the pod's status gives.
func podReason(p *corev1.Pod) string {
	var parts []string
	for _, st := range p.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil && w.Reason != "" {
			parts = append(parts, strings.TrimSpace(w.Reason+" "+w.Message))
		}
		if t := st.State.Terminated; t != nil {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s exit %d %s", t.Reason, t.ExitCode, t.Message)))
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Status != corev1.ConditionTrue && (cond.Reason != "" || cond.Message != "") {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s: %s %s", cond.Type, cond.Reason, cond.Message)))
		}
	}
	if p.Status.Reason != "" || p.Status.Message != "" {
		parts = append(parts, strings.TrimSpace(p.Status.Reason+" "+p.Status.Message))
	}
	if len(parts) == 0 {
		if p.Status.Phase == corev1.PodPending && p.Spec.NodeName != "" {
			return "no container status yet (is the node's kubelet running?)"
		}
		return "no reason given"
	}
	return strings.Join(parts, "; ")
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return ": " + s
}

type countingWriter struct {
	w io.Writer
	n func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n(int64(n))
	return n, err
}

// limitedBuffer keeps at most max bytes of stderr (the end matters most, but
// the collector's first error is enough).
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

var errNoBundle = errors.New("no bundle")
