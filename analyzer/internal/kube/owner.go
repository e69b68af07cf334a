package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podOwner is the workload a pod belongs to: its controller
// ownerReference (else its first one), with a ReplicaSet made by a
// Deployment named as that Deployment. The Deployment controller names its
// ReplicaSets "<deployment>-<pod-template-hash>" and labels their pods with
// pod-template-hash (kubernetes/kubernetes pkg/controller/deployment/sync.go,
// getNewReplicaSet), so the pod alone says which Deployment it came from.
func podOwner(in *corev1.Pod) (kind, name string) {
	var ref *metav1.OwnerReference
	for i := range in.OwnerReferences {
		r := &in.OwnerReferences[i]
		if r.Controller != nil && *r.Controller {
			ref = r
			break
		}
		if ref == nil {
			ref = r
		}
	}
	if ref == nil || ref.Kind == "" || ref.Name == "" {
		return "", ""
	}
	if ref.Kind == "ReplicaSet" {
		if h := in.Labels["pod-template-hash"]; h != "" {
			if d, ok := strings.CutSuffix(ref.Name, "-"+h); ok && d != "" {
				return "Deployment", d
			}
		}
	}
	return ref.Kind, ref.Name
}
