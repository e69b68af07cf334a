package agentlog

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParse reads a 50,000-line kubelet journal in which one line in a
// hundred is of a kind this package extracts.
func BenchmarkParse(b *testing.B) {
	var in bytes.Buffer
	for i := range 50_000 {
		fmt.Fprintf(&in, "Nov 07 18:%02d:%02d node-1 kubelet[514]: ", i/60%60, i%60)
		switch i % 100 {
		case 0:
			fmt.Fprintf(&in, `I1107 18:46:45.300000     514 eviction_manager.go:575] "Eviction manager: pod is evicted successfully" pod="shop/web-%d"`+"\n", i)
		case 50:
			fmt.Fprintf(&in, "I1107 18:46:45.300000     514 fsHandler.go:135] du and find on following dirs took %ds: [/rootfs/var/lib/docker/overlay2/%064x/diff]; will not log again for this container unless duration exceeds 4s\n", i%90, i)
		default:
			fmt.Fprintf(&in, `I1107 18:46:45.300000     514 kubelet.go:2457] "SyncLoop (PLEG): event for pod" pod="shop/web-%d" event=&{ID:0b283892-c517-4df9-8999-10914e5c7196 Type:ContainerStarted Data:5d28}`+"\n", i)
		}
	}
	b.SetBytes(int64(in.Len()))
	b.ReportAllocs()
	for b.Loop() {
		log, _ := Parse(bytes.NewReader(in.Bytes()), Options{Year: 2023})
		if len(log.Evictions) != 500 || len(log.FSScans) != 500 {
			b.Fatalf("%d evictions, %d scans", len(log.Evictions), len(log.FSScans))
		}
	}
}
