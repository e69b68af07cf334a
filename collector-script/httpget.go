package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"time"
)

// The pod's own service-account files (not host paths: they are the
// collector's credentials, mounted into its own container).
const (
	saTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	saCAFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// kubeletClient builds the client and token for the kubelet API once per
// run: --kubelet-ca or the system roots plus the service-account CA,
// --insecure to skip verification; the token from --kubelet-token-file or
// the service account.
func (c *collection) kubeletClient() (*http.Client, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kubeletHTTP != nil || c.kubeletErr != nil {
		return c.kubeletHTTP, c.kubeletToken, c.kubeletErr
	}
	o := c.opt
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.Insecure {
		tlsConf.InsecureSkipVerify = true
	} else {
		pool, err := rootCAs("--kubelet-ca", o.KubeletCA)
		if err != nil {
			c.kubeletErr = err
			return nil, "", err
		}
		tlsConf.RootCAs = pool
	}
	token, err := bearerToken("--kubelet-token-file", o.KubeletTokenFile)
	if err != nil {
		c.kubeletErr = err
		return nil, "", err
	}
	c.kubeletToken = token
	c.kubeletHTTP = newHTTPClient(tlsConf)
	return c.kubeletHTTP, c.kubeletToken, nil
}

// bearerToken reads the token file given with flag, else the service
// account's token when the collector runs in a pod; "" when there is none.
func bearerToken(flag, file string) (string, error) {
	if file == "" {
		if _, err := os.Stat(saTokenFile); err != nil {
			return "", nil
		}
		file = saTokenFile
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// rootCAs is the system roots plus a CA file: the one given with flag
// (an error when it cannot be read or holds no certificate), else the
// service account's ca.crt when the collector runs in a pod.
func rootCAs(flag, caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	explicit := caFile != ""
	if !explicit {
		if _, err := os.Stat(saCAFile); err != nil {
			return pool, nil
		}
		caFile = saCAFile
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !pool.AppendCertsFromPEM(pem) && explicit {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it", flag, caFile)
	}
	return pool, nil
}

// newHTTPClient never follows a redirect to another host with our token
// and never uses a proxy: the endpoints are on this node.
func newHTTPClient(tlsConf *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			TLSClientConfig:       tlsConf,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 0, // the source's context bounds it
			MaxIdleConnsPerHost:   1,
			DisableCompression:    false,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// get fetches url into the bundle as name. A non-200 answer is an error
// quoting the start of the body; the body itself is not stored.
func get(ctx context.Context, client *http.Client, token, url string, s *sink, name string, k kind, limit int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // it would repeat the method and URL
		}
		if cause := shareCause(ctx); cause != nil {
			err = cause
		}
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	// A text answer cut at its last time share is still worth keeping (the
	// analyzer reads a cut metrics page up to its last whole line); a cut
	// heap profile is not, so binary answers fail instead.
	cut := &shareCut{r: resp.Body, ctx: ctx, keep: k == text}
	if err := s.copy(name, cut, k, limit); err != nil {
		if cause := shareCause(ctx); cause != nil {
			err = cause // clearer than the transport's "context deadline exceeded"
		}
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if cut.cut {
		s.markTruncated()
		return fmt.Errorf("GET %s: %w; the %d bytes read so far are kept", url, context.Cause(ctx), cut.n)
	}
	return nil
}
