package plugin

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// A client that does not read must stop the server after about one stream
// window: the HTTP/2 connection may not buffer megabytes per answer ahead of
// its reader (transport.go). Without the bound the server gets 4 MiB out
// before it blocks.
func TestClientBuffersAtMostOneWindowAheadOfTheReader(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2, got "+r.Proto, http.StatusHTTPVersionNotSupported)
			return
		}
		chunk := make([]byte, 16<<10)
		for sent.Load() < 16<<20 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			sent.Add(int64(len(chunk)))
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{
		CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
	}}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := c.Kube.CoreV1().RESTClient().Get().AbsPath("/stream").Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var one [1]byte
	if _, err := body.Read(one[:]); err != nil { // the stream is open and flowing
		t.Fatal(err)
	}
	// Wait until the server is stuck: nothing more sent for half a second.
	last := int64(-1)
	for ctx.Err() == nil && sent.Load() != last {
		last = sent.Load()
		time.Sleep(500 * time.Millisecond)
	}
	// One stream window plus what sits in the server's own write path
	// (its frame buffer and one chunk).
	if limit := int64(streamReceiveWindow + 256<<10); last > limit {
		t.Fatalf("the server sent %d bytes to a client that read 1: the client buffers more than %d", last, limit)
	}
	t.Logf("the server got %d bytes out to a client that read 1 (stream window %d)", last, streamReceiveWindow)
}
