package kubeletconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/units"

	corev1 "k8s.io/api/core/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/memsnap/memsnap/bundle"
)

// Config is the kubelet's effective memory-related configuration.
type Config struct {
	CgroupDriver           string
	CgroupsPerQOS          *bool
	CgroupRoot             string
	EnforceNodeAllocatable []string
	KubeReservedMemory     *int64
	SystemReservedMemory   *int64
	// EvictionHardMemory is the memory.available hard threshold; nil when
	// the kubelet has none.
	EvictionHardMemory *Threshold
	EvictionSoftMemory *Threshold
	// ReservedMemory is the Memory Manager's reservedMemory "memory" summed
	// over NUMA nodes; ReservedHugepages the hugepages-* entries (bytes).
	ReservedMemory    *int64
	ReservedHugepages int64
	ConfigPath        string // --config
	// SwapBehavior is memorySwap.swapBehavior ("" = unset: NoSwap since
	// 1.30, LimitedSwap lets Burstable pods swap); FailSwapOn nil = unset
	// (default true) — kubernetes/kubernetes:pkg/kubelet/apis/config/types.go.
	SwapBehavior string
	FailSwapOn   *bool
	// Sources says where each value came from, for evidence: a bundle file
	// ("kubelet/configz.json"), a flag ("kubelet/flags.txt:7
	// --kube-reserved") or SourceDefault. Keys are the Key* constants.
	Sources map[string]string
}

// Threshold is an eviction threshold: an absolute quantity or a
// percentage of capacity.
type Threshold struct {
	Bytes   *int64
	Percent *float64
}

// BytesOf resolves the threshold against a capacity in bytes.
func (t *Threshold) BytesOf(capacity int64) int64 {
	switch {
	case t == nil:
		return 0
	case t.Bytes != nil:
		return *t.Bytes
	case t.Percent != nil:
		return int64(float64(capacity) * *t.Percent / 100)
	}
	return 0
}

// Keys of Config.Sources (the KubeletConfiguration field paths).
const (
	KeyCgroupDriver           = "cgroupDriver"
	KeyCgroupsPerQOS          = "cgroupsPerQOS"
	KeyCgroupRoot             = "cgroupRoot"
	KeyEnforceNodeAllocatable = "enforceNodeAllocatable"
	KeyKubeReserved           = "kubeReserved.memory"
	KeySystemReserved         = "systemReserved.memory"
	KeyEvictionHard           = "evictionHard.memory.available"
	KeyEvictionSoft           = "evictionSoft.memory.available"
	KeyReservedMemory         = "reservedMemory"
	KeyConfigPath             = "config"
	KeySwapBehavior           = "memorySwap.swapBehavior"
	KeyFailSwapOn             = "failSwapOn"
)

// SourceDefault marks a value the kubelet applies when nothing sets it.
const SourceDefault = "kubelet default (kubernetes/kubernetes:pkg/kubelet/apis/config/v1beta1/defaults.go)"

// Kubelet defaults for unset fields (pkg/kubelet/apis/config/v1beta1/
// defaults.go: DefaultEvictionHard, DefaultNodeAllocatableEnforcement,
// cgroupDriver "cgroupfs", cgroupsPerQOS true).
var (
	DefaultEvictionHardMemory          = "100Mi"
	DefaultNodeAllocatableEnforcement  = []string{"pods"}
	DefaultCgroupDriver                = "cgroupfs"
	DefaultCgroupsPerQOS               = true
	memoryAvailable                    = "memory.available"
	evictionHardPartialIssue           = "kubernetes/kubernetes#119985"
	evictionHardWithoutMemoryAvailable = "evictionHard set without memory.available: no memory threshold (" + evictionHardPartialIssue + ")"
)

// EnforcesPods reports whether the kubepods cgroup gets the node
// allocatable limit (DOMAIN §5: cgroupsPerQOS and "pods" enforced).
func (c *Config) EnforcesPods() bool {
	return (c.CgroupsPerQOS == nil || *c.CgroupsPerQOS) && slices.Contains(c.EnforceNodeAllocatable, "pods")
}

// layer is one configuration source: a KubeletConfiguration plus where
// each of its values came from.
type layer struct {
	kc *kubeletv1beta1.KubeletConfiguration
	// complete: an unset field means zero, not "not said" (configz is the
	// running config after defaulting, and omits empty values).
	complete bool
	source   func(key string) string
}

// Merge computes the effective configuration. Precedence is the
// kubelet's: flags override the config file (cmd/kubelet/app/server.go
// re-applies flags over the file); configz, the running kubelet's own
// view with everything applied, wins over both when present. Fields no
// source sets get the kubelet defaults, marked SourceDefault. Unparsable
// values are returned as errors and left unset.
func Merge(file, configz *kubeletv1beta1.KubeletConfiguration, flags *Flags) (*Config, []error) {
	c := &Config{Sources: map[string]string{}}
	var errs []error
	if f, ok := flags.Lookup("config"); ok {
		c.ConfigPath, c.Sources[KeyConfigPath] = f.Value, f.Source()
	}
	var layers []layer
	if configz != nil {
		layers = []layer{{configz, true, constSource(bundle.KubeletConfigz)}}
	} else {
		if file != nil {
			layers = append(layers, layer{file, false, constSource(bundle.KubeletConfigYAML)})
		}
		if flags != nil {
			kc, src, ferrs := flagsConfig(flags)
			errs = append(errs, ferrs...)
			layers = append(layers, layer{kc, false, src})
		}
	}
	var hard, soft map[string]string
	hardSrc, softSrc := "", ""
	mergeDefaults := false
	for _, l := range layers {
		kc := l.kc
		if kc.CgroupDriver != "" || l.complete {
			c.CgroupDriver, c.Sources[KeyCgroupDriver] = kc.CgroupDriver, l.source(KeyCgroupDriver)
		}
		if kc.CgroupsPerQOS != nil || l.complete {
			c.CgroupsPerQOS, c.Sources[KeyCgroupsPerQOS] = kc.CgroupsPerQOS, l.source(KeyCgroupsPerQOS)
		}
		if kc.CgroupRoot != "" || l.complete {
			c.CgroupRoot, c.Sources[KeyCgroupRoot] = kc.CgroupRoot, l.source(KeyCgroupRoot)
		}
		if kc.EnforceNodeAllocatable != nil || l.complete {
			c.EnforceNodeAllocatable = slices.Clone(kc.EnforceNodeAllocatable)
			c.Sources[KeyEnforceNodeAllocatable] = l.source(KeyEnforceNodeAllocatable)
		}
		for _, r := range []struct {
			m   map[string]string
			key string
			dst **int64
		}{{kc.KubeReserved, KeyKubeReserved, &c.KubeReservedMemory}, {kc.SystemReserved, KeySystemReserved, &c.SystemReservedMemory}} {
			if r.m == nil && !l.complete {
				continue
			}
			// A map replaces the lower layer's whole map (a flag's first Set
			// clears it: k8s.io/component-base/cli/flag MapStringString).
			*r.dst, c.Sources[r.key] = nil, l.source(r.key)
			if v, ok := r.m[string(corev1.ResourceMemory)]; ok {
				q, err := units.ParseK8sQuantity(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s %q: %v", l.source(r.key), r.key, v, err))
					continue
				}
				*r.dst = ptr(q.Value())
			}
		}
		if kc.EvictionHard != nil || l.complete {
			hard, hardSrc = kc.EvictionHard, l.source(KeyEvictionHard)
		}
		if kc.EvictionSoft != nil || l.complete {
			soft, softSrc = kc.EvictionSoft, l.source(KeyEvictionSoft)
		}
		if kc.MergeDefaultEvictionSettings != nil {
			mergeDefaults = *kc.MergeDefaultEvictionSettings
		}
		if kc.MemorySwap.SwapBehavior != "" || l.complete {
			c.SwapBehavior, c.Sources[KeySwapBehavior] = kc.MemorySwap.SwapBehavior, l.source(KeySwapBehavior)
		}
		if kc.FailSwapOn != nil || l.complete {
			c.FailSwapOn, c.Sources[KeyFailSwapOn] = kc.FailSwapOn, l.source(KeyFailSwapOn)
		}
		if kc.ReservedMemory != nil || l.complete {
			c.ReservedMemory, c.ReservedHugepages = nil, 0
			for _, mr := range kc.ReservedMemory {
				for name, q := range mr.Limits {
					switch {
					case name == corev1.ResourceMemory:
						c.ReservedMemory = ptr(deref(c.ReservedMemory) + q.Value())
					case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
						c.ReservedHugepages += q.Value()
					}
				}
			}
			c.Sources[KeyReservedMemory] = l.source(KeyReservedMemory)
		}
	}
	complete := configz != nil
	if !complete {
		applyDefaults(c)
	}

	switch v, ok := hard[memoryAvailable]; {
	case ok:
		c.EvictionHardMemory, c.Sources[KeyEvictionHard] = parseThreshold(v, hardSrc, &errs), hardSrc
	case hard == nil && !complete, mergeDefaults && !complete:
		// The default applies only when evictionHard is unset as a whole,
		// unless mergeDefaultEvictionSettings (kubernetes/kubernetes#127577).
		c.EvictionHardMemory, c.Sources[KeyEvictionHard] = parseThreshold(DefaultEvictionHardMemory, SourceDefault, &errs), SourceDefault
	case hardSrc != "":
		c.Sources[KeyEvictionHard] = hardSrc + ": " + evictionHardWithoutMemoryAvailable
	}
	if v, ok := soft[memoryAvailable]; ok {
		c.EvictionSoftMemory, c.Sources[KeyEvictionSoft] = parseThreshold(v, softSrc, &errs), softSrc
	}
	return c, errs
}

func applyDefaults(c *Config) {
	if _, ok := c.Sources[KeyCgroupDriver]; !ok {
		c.CgroupDriver, c.Sources[KeyCgroupDriver] = DefaultCgroupDriver, SourceDefault
	}
	if c.CgroupsPerQOS == nil {
		c.CgroupsPerQOS, c.Sources[KeyCgroupsPerQOS] = ptr(DefaultCgroupsPerQOS), SourceDefault
	}
	if _, ok := c.Sources[KeyEnforceNodeAllocatable]; !ok {
		c.EnforceNodeAllocatable = slices.Clone(DefaultNodeAllocatableEnforcement)
		c.Sources[KeyEnforceNodeAllocatable] = SourceDefault
	}
}

// parseThreshold reads "100Mi" or "10%". The kubelet ignores 0% and 100%
// (kubernetes/kubernetes#59681: the way to disable a default threshold),
// so those yield nil.
func parseThreshold(v, source string, errs *[]error) *Threshold {
	v = strings.TrimSpace(v)
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f > 100 {
			*errs = append(*errs, fmt.Errorf("%s: memory.available %q is not a percentage", source, v))
			return nil
		}
		if f == 0 || f == 100 {
			return nil
		}
		return &Threshold{Percent: &f}
	}
	q, err := units.ParseK8sQuantity(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: memory.available %q: %v", source, v, err))
		return nil
	}
	return &Threshold{Bytes: ptr(q.Value())}
}

func constSource(s string) func(string) string { return func(string) string { return s } }

func ptr[T any](v T) *T { return &v }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
