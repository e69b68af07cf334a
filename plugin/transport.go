package plugin

import (
	"net/http"

	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// The run reads about seventy answers at once over one HTTP/2 connection to
// the API server (ten nodes × the node-proxy endpoints, issue #14). The Go
// HTTP/2 client lets a server send up to 4 MiB per stream and 1 GiB per
// connection before it must wait for the reader (golang.org/x/net/http2
// transportDefaultStreamFlow and transportDefaultConnFlow), and it keeps what
// arrived in memory until the reader takes it. On loopback the API server
// outruns the spooling to disk, and at 100 nodes × 50 pods that buffered data
// was 30–34 MiB of the plugin's 50 MiB live heap (heap profiles, make
// bench-plugin). These windows bound it: a stream may be at most
// streamReceiveWindow ahead of its reader and the connection at most
// connReceiveWindow — 4 MiB in flight is 80 MiB/s at a 50 ms round trip,
// more than the spooling writes.
const (
	streamReceiveWindow = 256 << 10
	connReceiveWindow   = 4 << 20
)

// boundReceiveBuffers is a client-go transport wrapper that sets the receive
// windows on the *http.Transport beneath rt (net/http's HTTP2Config, which
// golang.org/x/net/http2 reads when it opens a connection). It returns rt
// itself: nothing is added to the request path. A transport it cannot reach
// (a custom one from the caller) is left alone.
func boundReceiveBuffers(rt http.RoundTripper) http.RoundTripper {
	for next := rt; next != nil; {
		switch t := next.(type) {
		case *http.Transport:
			h2 := http.HTTP2Config{}
			if t.HTTP2 != nil {
				h2 = *t.HTTP2
			}
			if h2.MaxReceiveBufferPerStream == 0 || h2.MaxReceiveBufferPerStream > streamReceiveWindow {
				h2.MaxReceiveBufferPerStream = streamReceiveWindow
			}
			if h2.MaxReceiveBufferPerConnection == 0 || h2.MaxReceiveBufferPerConnection > connReceiveWindow {
				h2.MaxReceiveBufferPerConnection = connReceiveWindow
			}
			t.HTTP2 = &h2
			return rt
		case utilnet.RoundTripperWrapper:
			next = t.WrappedRoundTripper()
		default:
			return rt
		}
	}
	return rt
}
