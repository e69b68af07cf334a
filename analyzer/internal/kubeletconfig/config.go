// Package kubeletconfig reads the kubelet's configuration from a bundle
// (kubelet/configz.json, kubelet/config.yaml, kubelet/flags.txt,
// kubelet/version.txt) and merges it into the effective values the memory
// rules need: cgroup driver and root, node-allocatable enforcement,
// reservations and eviction thresholds (DOMAIN §2.4, §5).
package kubeletconfig

import (
	"bytes"
	"fmt"
	"io"

	"github.com/memsnap/memsnap/analyzer/internal/units"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/memsnap/memsnap/analyzer/internal/kube"
	"github.com/memsnap/memsnap/bundle"
)

// MaxConfigBytes bounds a configuration file; real ones are a few KiB.
const MaxConfigBytes = 16 << 20

// ParseConfigz parses kubelet/configz.json, the running kubelet's /configz:
// {"kubeletconfig": {...}} holding a v1beta1 KubeletConfiguration with the
// kubelet's defaults and flags already applied
// (kubernetes/kubernetes:cmd/kubelet/app/server.go setConfigz).
func ParseConfigz(r io.Reader) (*kubeletv1beta1.KubeletConfiguration, error) {
	var doc struct {
		KubeletConfig *kubeletv1beta1.KubeletConfiguration `json:"kubeletconfig"`
	}
	if err := kube.DecodeJSON(r, bundle.KubeletConfigz, MaxConfigBytes, &doc); err != nil {
		return nil, err
	}
	if doc.KubeletConfig == nil {
		return nil, fmt.Errorf("%s: no \"kubeletconfig\" object", bundle.KubeletConfigz)
	}
	return doc.KubeletConfig, nil
}

// ParseConfigFile parses kubelet/config.yaml, the file named by the
// kubelet's --config: a KubeletConfiguration in YAML or JSON. YAML goes
// through sigs.k8s.io/yaml (YAML → JSON → the upstream type's JSON tags):
// yaml.v3 would silently drop the camelCase fields. JSON is decoded
// directly so errors carry the byte offset.
func ParseConfigFile(r io.Reader) (*kubeletv1beta1.KubeletConfiguration, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", bundle.KubeletConfigYAML, err)
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, not parsed", bundle.KubeletConfigYAML, MaxConfigBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s: empty file", bundle.KubeletConfigYAML)
	}
	if bad, ok := units.HugeExponent(data); ok {
		return nil, fmt.Errorf("%s: holds the number %q, whose exponent would make Kubernetes' quantity parser run without bound; not parsed", bundle.KubeletConfigYAML, bad)
	}
	var kc kubeletv1beta1.KubeletConfiguration
	if trimmed[0] == '{' {
		if err := kube.DecodeJSON(bytes.NewReader(data), bundle.KubeletConfigYAML, MaxConfigBytes, &kc); err != nil {
			return nil, err
		}
		return &kc, nil
	}
	// The YAML parser (go.yaml.in/yaml/v2) refuses excessive aliasing and
	// deep nesting itself; its errors name the line.
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("%s: %w", bundle.KubeletConfigYAML, err)
	}
	return &kc, nil
}
