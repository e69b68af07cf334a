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
// Likewise a Job made by a CronJob is named as that CronJob (see cronJobOf).
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
	if ref.Kind == "Job" {
		if cj, ok := cronJobOf(ref.Name); ok {
			return "CronJob", cj
		}
	}
	return ref.Kind, ref.Name
}

// cronJobOf names the CronJob that made a Job, from the Job's name alone: the
// CronJob controller names each Job "<cronjob>-<scheduled time in minutes
// since the Unix epoch>" (kubernetes/kubernetes pkg/controller/cronjob/utils.go,
// getJobName and getTimeHashInMinutes), and a pod's ownerReference names only
// the Job. Minutes since the epoch have had 8 digits since 1979 and keep them
// until 2160, so only a suffix of exactly 8 digits counts: "migrate-2" stays a Job.
func cronJobOf(job string) (string, bool) {
	i := strings.LastIndexByte(job, '-')
	if i <= 0 || len(job)-i-1 != 8 {
		return "", false
	}
	for _, r := range job[i+1:] {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return job[:i], true
}
