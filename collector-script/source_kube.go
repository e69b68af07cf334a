package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// collectKube fetches this node's Node object from the API server
// (kube/node.json, DESIGN §2): status.allocatable is what the scheduler
// places pods against, which the analyzer sets beside its own arithmetic
// of capacity − reserved − eviction (DOMAIN §5, seed 002). It needs the
// pod's service account (deploy/rbac.yaml grants get on nodes) or
// --apiserver with a token; without them the source is skipped — the
// analyzer does not need it to compute allocatable.
func collectKube(ctx context.Context, c *collection, s *sink) error {
	o := c.opt
	base := o.APIServer
	switch base {
	case "off":
		s.skip("API server: --apiserver off")
		return nil
	case "", "auto":
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			s.skip("API server: not in a pod (KUBERNETES_SERVICE_HOST unset); --apiserver URL fetches the Node object")
			return nil
		}
		base = "https://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--apiserver %q: want an http(s) URL, auto or off", base)
	}
	c.kubeletProcess() // applies the kubelet's --hostname-override to the node name
	c.mu.Lock()
	node := c.node.NodeName
	c.mu.Unlock()
	if o.NodeName != "" {
		node = o.NodeName
	}
	if node == "" {
		s.skip("API server: node name unknown (set --node-name or $NODE_NAME)")
		return nil
	}
	token, err := bearerToken("--apiserver-token-file", o.APIServerTokenFile)
	if err != nil {
		return err
	}
	if token == "" {
		s.skip("API server: no service-account token (%s) and no --apiserver-token-file", saTokenFile)
		return nil
	}
	pool, err := rootCAs("--apiserver-ca", o.APIServerCA)
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	target := strings.TrimSuffix(base, "/") + "/api/v1/nodes/" + url.PathEscape(node)
	if c.dry != nil {
		c.dry.action(s.name, "GET %s", target)
		return nil
	}
	client := newHTTPClient(tlsConf)
	defer client.CloseIdleConnections()
	return get(ctx, client, token, target, s, bundle.KubeNode, text, capSmall)
}
