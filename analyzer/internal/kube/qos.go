package kube

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// computeQoS derives the QoS class for pods whose status lacks qosClass
// (hand-made or very old pods.json), following the kubelet's rules in
// kubernetes/kubernetes:pkg/apis/core/v1/helper/qos/qos.go: only cpu and
// memory count; zero quantities are ignored; no requests and no limits is
// BestEffort; Guaranteed needs every container to limit both cpu and memory
// and the summed requests to equal the summed limits; anything else is
// Burstable. Pod-level resources (PodLevelResources, k8s ≥ 1.32) replace the
// per-container sums when set.
func computeQoS(pod *corev1.Pod) string {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	if pr := pod.Spec.Resources; pr != nil && (hasQoSResource(pr.Requests) || hasQoSResource(pr.Limits)) {
		addQoS(requests, pr.Requests)
		if addQoS(limits, pr.Limits) < 2 {
			guaranteed = false
		}
	} else {
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				addQoS(requests, cs[i].Resources.Requests)
				if addQoS(limits, cs[i].Resources.Limits) < 2 {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return string(corev1.PodQOSBestEffort)
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
			}
		}
		if guaranteed {
			return string(corev1.PodQOSGuaranteed)
		}
	}
	return string(corev1.PodQOSBurstable)
}

func isQoSResource(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory
}

func hasQoSResource(rl corev1.ResourceList) bool {
	for name := range rl {
		if isQoSResource(name) {
			return true
		}
	}
	return false
}

// addQoS adds the positive cpu/memory quantities of in to sum and reports
// how many of the two it found.
func addQoS(sum, in corev1.ResourceList) int {
	found := 0
	for name, q := range in {
		if !isQoSResource(name) || q.Sign() <= 0 {
			continue
		}
		found++
		q = q.DeepCopy() // Add would otherwise write through to the pod's own quantity
		if cur, ok := sum[name]; ok {
			q.Add(cur)
		}
		sum[name] = q
	}
	return found
}

// podMemory returns the pod cgroup's memory limit and the pod's memory
// request the way the kubelet sizes the pod cgroup
// (kubernetes/kubernetes:pkg/kubelet/cm/helpers_linux.go ResourceConfigForPod,
// k8s.io/component-helpers/resource PodLimits/PodRequests): app containers
// and restartable init containers (sidecars) add up; a plain init container
// runs alone beside the sidecars started before it, so the pod needs the
// larger of the two; pod overhead is added. The limit is nil (unlimited)
// when any container lacks a memory limit, as the kubelet then leaves the
// pod cgroup unlimited. A pod-level memory limit wins when set.
func podMemory(pod *corev1.Pod) (limit, request *int64) {
	lim, limOK := podSum(pod, func(c *corev1.Container) (int64, bool) {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		return q.Value(), ok && q.Sign() > 0
	}, true)
	req, reqOK := podSum(pod, func(c *corev1.Container) (int64, bool) {
		q, ok := c.Resources.Requests[corev1.ResourceMemory]
		return q.Value(), ok && q.Sign() > 0
	}, false)
	if pr := pod.Spec.Resources; pr != nil {
		if q, ok := pr.Limits[corev1.ResourceMemory]; ok && q.Sign() > 0 {
			lim, limOK = q.Value(), true
		}
		if q, ok := pr.Requests[corev1.ResourceMemory]; ok && q.Sign() > 0 {
			req, reqOK = q.Value(), true
		}
	}
	if overhead, ok := pod.Spec.Overhead[corev1.ResourceMemory]; ok {
		lim, req = addOverhead(lim, overhead), addOverhead(req, overhead)
	}
	if limOK {
		limit = &lim
	}
	if reqOK {
		request = &req
	}
	return limit, request
}

func addOverhead(v int64, q resource.Quantity) int64 {
	if q.Sign() > 0 {
		return v + q.Value()
	}
	return v
}

// podSum combines one memory value per container as described at
// podMemory. With needAll, a container without a value makes the result
// not ok; otherwise the result is ok when any container has one.
func podSum(pod *corev1.Pod, get func(*corev1.Container) (int64, bool), needAll bool) (int64, bool) {
	var sum, sidecars, maxInit int64
	all, any := true, false
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		v, ok := get(c)
		all, any = all && ok, any || ok
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars += v
			sum += v
		} else if v+sidecars > maxInit {
			maxInit = v + sidecars
		}
	}
	for i := range pod.Spec.Containers {
		v, ok := get(&pod.Spec.Containers[i])
		all, any = all && ok, any || ok
		sum += v
	}
	if len(pod.Spec.InitContainers)+len(pod.Spec.Containers) == 0 {
		all = false
	}
	sum = max(sum, maxInit)
	if needAll {
		return sum, all
	}
	return sum, any
}
