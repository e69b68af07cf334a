package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodOwner(t *testing.T) {
	yes := true
	pod := func(labels map[string]string, refs ...metav1.OwnerReference) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: labels, OwnerReferences: refs}}
	}
	for _, c := range []struct {
		name       string
		pod        *corev1.Pod
		kind, want string
	}{
		{"deployment via its ReplicaSet", pod(map[string]string{"pod-template-hash": "7d9f8c6b5"},
			metav1.OwnerReference{Kind: "ReplicaSet", Name: "web-7d9f8c6b5", Controller: &yes}), "Deployment", "web"},
		{"bare ReplicaSet", pod(nil, metav1.OwnerReference{Kind: "ReplicaSet", Name: "rs-1", Controller: &yes}), "ReplicaSet", "rs-1"},
		{"hash not in the name", pod(map[string]string{"pod-template-hash": "abc"},
			metav1.OwnerReference{Kind: "ReplicaSet", Name: "other", Controller: &yes}), "ReplicaSet", "other"},
		{"statefulset", pod(nil, metav1.OwnerReference{Kind: "StatefulSet", Name: "db", Controller: &yes}), "StatefulSet", "db"},
		{"controller wins", pod(nil, metav1.OwnerReference{Kind: "ConfigMap", Name: "x"},
			metav1.OwnerReference{Kind: "DaemonSet", Name: "agent", Controller: &yes}), "DaemonSet", "agent"},
		{"cronjob via its Job", pod(nil, metav1.OwnerReference{Kind: "Job", Name: "backup-29412000", Controller: &yes}), "CronJob", "backup"},
		{"job with a short number", pod(nil, metav1.OwnerReference{Kind: "Job", Name: "migrate-2", Controller: &yes}), "Job", "migrate-2"},
		{"job with a 9-digit suffix", pod(nil, metav1.OwnerReference{Kind: "Job", Name: "x-123456789", Controller: &yes}), "Job", "x-123456789"},
		{"job named only digits", pod(nil, metav1.OwnerReference{Kind: "Job", Name: "-29412000", Controller: &yes}), "Job", "-29412000"},
		{"no owner", pod(nil), "", ""},
	} {
		k, n := podOwner(c.pod)
		if k != c.kind || n != c.want {
			t.Errorf("%s: %s/%s, want %s/%s", c.name, k, n, c.kind, c.want)
		}
	}
}
