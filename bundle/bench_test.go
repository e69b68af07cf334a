package bundle_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

// BenchmarkOpenTarGz opens a bundle shaped like the DESIGN §5 reference node:
// ~1,000 cgroups with their memory files and one 40 MB metrics file.
func BenchmarkOpenTarGz(b *testing.B) {
	path := filepath.Join(b.TempDir(), "reference.tar.gz")
	writeReferenceBundle(b, path)
	info, _ := os.Stat(path)
	b.ReportAllocs()
	b.SetBytes(info.Size())
	for b.Loop() {
		bd, err := bundle.Open(context.Background(), path, bundle.Options{TempDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if len(bd.List("cgroup/")) < 10_000 {
			b.Fatalf("only %d cgroup files", len(bd.List("cgroup/")))
		}
		bd.Close()
	}
}

func writeReferenceBundle(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	add := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644}); err != nil {
			b.Fatal(err)
		}
		tw.Write(body)
	}
	stat := corpusFiles(b)["cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope/memory.stat"]
	for i := range 1000 {
		dir := fmt.Sprintf("cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%04d.slice/", i)
		add(dir+"memory.stat", stat)
		for _, name := range []string{"memory.current", "memory.max", "memory.high", "memory.min", "memory.low",
			"memory.events", "memory.events.local", "memory.pressure", "cgroup.procs"} {
			add(dir+name, fmt.Appendf(nil, "%d\n", i*4096))
		}
	}
	var metrics []byte
	for i := 0; len(metrics) < 40<<20; i++ {
		metrics = fmt.Appendf(metrics, "container_memory_working_set_bytes{container=\"c%d\",id=\"/kubepods.slice/pod%d\",image=\"registry.k8s.io/pause:3.9\",namespace=\"ns%d\",pod=\"pod-%d\"} %d 1700000000000\n",
			i%7, i, i%50, i, i*4096)
	}
	add("kubelet/metrics-cadvisor.prom", metrics)
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
}
