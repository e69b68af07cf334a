package testbed

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
)

// The bed's addresses, all on lo of its own network namespace, from
// TEST-NET-1 (RFC 5737): a fresh namespace has no route anywhere else, and
// the API server refuses to proxy to loopback addresses (127.0.0.0/8), so
// nodes need addresses of their own.
const (
	// APIServerIP is the API server's --advertise-address and bind address.
	APIServerIP = "192.0.2.1"
	// ServiceCIDR is the API server's --service-cluster-ip-range, from
	// TEST-NET-2 and deliberately unroutable in the namespace: with no
	// kube-proxy a ClusterIP leads nowhere, and a pod that tries one gets
	// "network unreachable" at once.
	ServiceCIDR = "198.51.100.0/24"
	// PodCIDR is the bridge CNI's host-local range for pods of a real
	// kubelet, from TEST-NET-3: on a bridge inside the namespace only.
	PodCIDR = "203.0.113.0/24"
)

var addrMu sync.Mutex

// setupLoopback brings lo up and gives it the API server's address.
func setupLoopback() error {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %v: %s", err, out)
	}
	return AddAddress(APIServerIP)
}

// AddAddress puts ip (a /32) on lo unless it is there already.
func AddAddress(ip string) error {
	addrMu.Lock()
	defer addrMu.Unlock()
	if net.ParseIP(ip) == nil {
		return fmt.Errorf("AddAddress: %q is not an IP address", ip)
	}
	ifc, err := net.InterfaceByName("lo")
	if err == nil {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if strings.HasPrefix(a.String(), ip+"/") {
				return nil
			}
		}
	}
	if out, err := exec.Command("ip", "addr", "add", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
		return fmt.Errorf("ip addr add %s/32 dev lo: %v: %s", ip, err, out)
	}
	return nil
}

// NodeIP is the address of the i-th node (i from 0): 192.0.2.11, .12, …
func NodeIP(i int) string { return fmt.Sprintf("192.0.2.%d", 11+i) }
