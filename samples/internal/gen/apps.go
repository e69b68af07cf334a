package main

import (
	"fmt"
	"time"
)

// appSpec is an ordinary workload: one container, its limits and usage.
type appSpec struct {
	ns, deploy, hash, suffix, container, image string
	reqCPU, reqMem, limCPU, limMem             string
	use                                        charge
	comm                                       string
	argv                                       []string
}

// addApps adds Deployment pods that run well within their limits.
func addApps(n *nodeModel, created time.Time, apps []appSpec) {
	for i, a := range apps {
		p := &podModel{ns: a.ns, name: a.deploy + "-" + a.hash + "-" + a.suffix, ownerKind: "ReplicaSet", owner: a.deploy + "-" + a.hash,
			created: created.Add(time.Duration(i) * 17 * time.Minute), ip: fmt.Sprintf("10.244.%d.%d", 2+i%3, 30+i)}
		pr := &procModel{comm: a.comm, argv: a.argv, threads: 8 + i%5, vmSizeKB: 720000 + int64(i)*51200,
			anonKB: a.use.anon / 1024, fileKB: a.use.mappedFile / 1024}
		c := &ctrModel{name: a.container, image: a.image, imageID: a.image + "@sha256:" + hexID(a.image),
			req: rl(a.reqCPU, a.reqMem), lim: rl(a.limCPU, a.limMem), started: p.created.Add(4 * time.Second), procs: []*procModel{pr}}
		p.containers = []*ctrModel{c}
		n.addPod(p, map[string]charge{a.container: a.use})
	}
}

// use is a compact charge: anon, active and inactive file in MiB.
func use(anonMiB, activeMiB, inactiveMiB int64) charge {
	return charge{anon: mib(anonMiB) + 45056, activeFile: mib(activeMiB), inactiveFile: mib(inactiveMiB),
		kernel: mib(anonMiB/40+1) + 122880, mappedFile: mib(activeMiB / 2), activeAnonPct: 20,
		pgfault: anonMiB*2600 + 1211, pgmajfault: activeMiB/4 + 3}
}

// ordinaryApps is the set of workloads of a healthy node.
func ordinaryApps() []appSpec {
	return []appSpec{
		{ns: "kube-system", deploy: "coredns", hash: "5d78c9869d", suffix: "8xkqp", container: "coredns", image: "registry.k8s.io/coredns/coredns:v1.10.1",
			reqCPU: "100m", reqMem: "70Mi", limMem: "170Mi", use: use(19, 2, 1), comm: "coredns", argv: []string{"/coredns", "-conf", "/etc/coredns/Corefile"}},
		{ns: "kube-system", deploy: "coredns", hash: "5d78c9869d", suffix: "m2l7d", container: "coredns", image: "registry.k8s.io/coredns/coredns:v1.10.1",
			reqCPU: "100m", reqMem: "70Mi", limMem: "170Mi", use: use(18, 2, 1), comm: "coredns", argv: []string{"/coredns", "-conf", "/etc/coredns/Corefile"}},
		{ns: "shop", deploy: "web", hash: "7f9c6d5b8", suffix: "2vkxr", container: "nginx", image: "docker.io/library/nginx:1.25.4",
			reqCPU: "100m", reqMem: "64Mi", limCPU: "500m", limMem: "256Mi", use: use(23, 31, 12), comm: "nginx", argv: []string{"nginx: master process nginx -g daemon off;"}},
		{ns: "shop", deploy: "api", hash: "6c8d7f9b5", suffix: "h7t2m", container: "api", image: "registry.internal/shop/api:3.12.0",
			reqCPU: "250m", reqMem: "256Mi", limCPU: "1", limMem: "512Mi", use: use(141, 22, 30), comm: "api", argv: []string{"/app/api", "--listen=:8080"}},
		{ns: "shop", deploy: "worker", hash: "84b5c9d7f", suffix: "p4wzn", container: "worker", image: "registry.internal/shop/worker:3.12.0",
			reqCPU: "250m", reqMem: "384Mi", limCPU: "1", limMem: "768Mi", use: use(219, 40, 61), comm: "worker", argv: []string{"/app/worker", "--queue=orders"}},
		{ns: "shop", deploy: "redis", hash: "59d8b6c7f", suffix: "kq9sd", container: "redis", image: "docker.io/library/redis:7.2.4",
			reqCPU: "100m", reqMem: "512Mi", limCPU: "1", limMem: "1Gi", use: use(388, 12, 9), comm: "redis-server", argv: []string{"redis-server *:6379"}},
		{ns: "shop", deploy: "search", hash: "7b6f9c8d4", suffix: "zt5xm", container: "search", image: "registry.internal/shop/search:1.4.2",
			reqCPU: "500m", reqMem: "1Gi", limCPU: "2", limMem: "2Gi", use: use(702, 160, 190), comm: "java", argv: []string{"java", "-Xms512m", "-Xmx768m", "-jar", "/app/search.jar"}},
		{ns: "monitoring", deploy: "kube-state-metrics", hash: "6f5b9d8c7", suffix: "wl2xg", container: "kube-state-metrics", image: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.1",
			reqCPU: "10m", reqMem: "64Mi", limMem: "256Mi", use: use(48, 3, 2), comm: "kube-state-metr", argv: []string{"/kube-state-metrics", "--port=8080"}},
		{ns: "shop", deploy: "frontend", hash: "5c7d8b9f6", suffix: "r8pqv", container: "frontend", image: "registry.internal/shop/frontend:2.7.1",
			reqCPU: "100m", reqMem: "128Mi", limCPU: "500m", limMem: "384Mi", use: use(96, 18, 25), comm: "node", argv: []string{"node", "/app/server.js"}},
	}
}
