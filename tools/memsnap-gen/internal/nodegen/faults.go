package nodegen

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// A Fault makes the served kubelet misbehave on the requests whose URL path
// starts with Path ("" = every request), the way kubelets in the field do
// and the collector and kubectl plugin must survive:
//
//	hang   accept the request, send nothing, hold the connection until the
//	       client gives up or the server closes (a wedged kubelet)
//	reset  drop the connection with a TCP RST before any response (a
//	       kubelet restarting, a conntrack drop)
//	500    answer 500 Internal Server Error
//	slow   send the answer in small pieces with a pause between them
type Fault struct {
	Mode string
	Path string
}

var faultModes = []string{"hang", "reset", "500", "slow"}

// ParseFault reads MODE or MODE:PATH (as memsnap-gen --fault takes it).
func ParseFault(s string) (Fault, error) {
	mode, p, _ := strings.Cut(s, ":")
	for _, m := range faultModes {
		if mode == m {
			if p != "" && !strings.HasPrefix(p, "/") {
				return Fault{}, fmt.Errorf("fault %q: the path must start with /", s)
			}
			return Fault{Mode: mode, Path: p}, nil
		}
	}
	return Fault{}, fmt.Errorf("fault %q: mode must be one of %s", s, strings.Join(faultModes, ", "))
}

// slowChunk and slowPause shape the "slow" fault: 1 KiB every 50 ms is
// 20 KiB/s, so a megabyte of metrics takes most of a minute.
const (
	slowChunk = 1 << 10
	slowPause = 50 * time.Millisecond
)

// WithFaults wraps a kubelet handler with faults; the first whose path
// matches applies. done is closed when the server stops, which releases
// hung requests.
func WithFaults(h http.Handler, faults []Fault, done <-chan struct{}) http.Handler {
	if len(faults) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range faults {
			if !strings.HasPrefix(r.URL.Path, f.Path) {
				continue
			}
			switch f.Mode {
			case "hang":
				select {
				case <-r.Context().Done():
				case <-done:
				}
			case "reset":
				reset(w)
			case "500":
				http.Error(w, "memsnap-gen: injected fault", http.StatusInternalServerError)
			case "slow":
				h.ServeHTTP(&slowWriter{ResponseWriter: w, done: done}, r)
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

// reset closes the client's connection with SO_LINGER 0: the kernel sends
// RST instead of FIN. Over TLS the raw TCP connection underneath is reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := underlyingTCP(conn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func underlyingTCP(c net.Conn) (*net.TCPConn, bool) {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case interface{ NetConn() net.Conn }: // *tls.Conn
			c = v.NetConn()
		default:
			return nil, false
		}
	}
}

type slowWriter struct {
	http.ResponseWriter
	done <-chan struct{}
}

func (s *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), slowChunk)
		m, err := s.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		if f, ok := s.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[k:]
		select {
		case <-time.After(slowPause):
		case <-s.done:
			return n, http.ErrServerClosed
		}
	}
	return n, nil
}
