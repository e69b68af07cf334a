package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

// BenchmarkWatchSample measures one watch sample of a 250-pod node (1,000
// container, pod and QoS cgroups) the way --watch takes it: CPU per sample
// and compressed series bytes per sample, extrapolated to the budget of
// issue #15 (10 min at 15 s = 40 samples: ≤ 10 MB, sampling CPU ≤ 1 % of a
// core). Between samples (timer stopped) every memory.stat, usage and
// events value moves, as on a live node: a static tree would compress to
// nothing and flatter the size.
//
//	go test -run '^$' -bench WatchSample -benchtime 40x ./collector-script/
func BenchmarkWatchSample(b *testing.B) {
	for _, version := range []int{1, 2} {
		b.Run(fmt.Sprintf("v%d-250pods", version), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), "host")
			os.Mkdir(root, 0o755)
			h, err := hostfixture.Generate(root, hostfixture.Options{CgroupVersion: version, Driver: "systemd", Pods: 250, Processes: 260, KmsgLines: 10})
			if err != nil {
				b.Fatal(err)
			}
			files := movingFiles(b, root)
			rec, err := newRecorder(Host{Root: root}, b.TempDir(), time.Now)
			if err != nil {
				b.Fatal(err)
			}
			// The kubelet summary of the 250 pods, fetched and reduced each
			// sample as --watch does. The fixture kubelet runs in this
			// process: it serves the summary rendered once, so its JSON
			// encoding stays out of the CPU figure (serving the bytes is in
			// it: still an upper bound).
			k, err := h.Kubelet(hostfixture.KubeletOptions{StaticSummary: true})
			if err != nil {
				b.Fatal(err)
			}
			defer k.Close()
			if rec.kubelet, err = newSummarySamplerAt(newHTTPClient(&tls.Config{}), "", k.URL, 10*time.Second, b.TempDir()); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, f := range files {
					f.move(rng)
				}
				before := cpuTime()
				b.StartTimer()
				rec.sample()
				rec.kubelet.finish() // the request the sample started, counted in this sample
				b.StopTimer()
				cpu += cpuTime() - before
				b.StartTimer()
			}
			b.StopTimer()
			if rec.kubelet.bad > 0 {
				b.Fatalf("%d summary requests failed: %v", rec.kubelet.bad, rec.kubelet.lastErr)
			}
			for _, sf := range []*seriesFile{rec.node, rec.cg, rec.ev, rec.kubelet.out} {
				if err := sf.finish(); err != nil {
					b.Fatal(err)
				}
			}
			perSample := float64(rec.bytes()) / float64(b.N)
			cpuPer := cpu.Seconds() / float64(b.N)
			b.ReportMetric(perSample, "B/sample")
			b.ReportMetric(float64(rec.kubelet.out.bytes())/float64(b.N), "summary-B/sample")
			b.ReportMetric(cpuPer*1000, "cpu-ms/sample")
			b.ReportMetric(perSample*40/1e6, "MB/10min@15s")
			b.ReportMetric(100*cpuPer/15, "cpu%@15s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// movingFile is a cgroup file whose numbers change between samples.
type movingFile struct {
	path  string
	keys  []string // "" for a one-value file
	vals  []int64
	buf   bytes.Buffer
	delta int64
}

func movingFiles(b *testing.B, root string) []*movingFile {
	var out []*movingFile
	filepath.Walk(filepath.Join(root, "sys/fs/cgroup"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		switch filepath.Base(p) {
		case "memory.stat", "memory.current", "memory.usage_in_bytes", "memory.events", "memory.pressure", "memory.max_usage_in_bytes", "memory.peak":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		m := &movingFile{path: p, delta: 1 << 16}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Fields(line)
			switch len(f) {
			case 1:
				v, _ := strconv.ParseInt(f[0], 10, 64)
				m.keys, m.vals = append(m.keys, ""), append(m.vals, v)
			case 2:
				v, _ := strconv.ParseInt(f[1], 10, 64)
				m.keys, m.vals = append(m.keys, f[0]), append(m.vals, v)
			}
		}
		if filepath.Base(p) != "memory.pressure" && len(m.keys) > 0 {
			out = append(out, m)
		}
		return nil
	})
	return out
}

func (m *movingFile) move(rng *rand.Rand) {
	m.buf.Reset()
	for i, k := range m.keys {
		if m.vals[i] > 0 {
			m.vals[i] += rng.Int64N(m.delta) - m.delta/4
			m.vals[i] = max(m.vals[i], 0)
		}
		if k != "" {
			m.buf.WriteString(k)
			m.buf.WriteByte(' ')
		}
		m.buf.WriteString(strconv.FormatInt(m.vals[i], 10))
		m.buf.WriteByte('\n')
	}
	os.WriteFile(m.path, m.buf.Bytes(), 0o644)
}
