// Package config holds the rule thresholds and suppressions: global defaults
// embedded from defaults.yaml, overridden by the file given to --config.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/units"

	"go.yaml.in/yaml/v3"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// Bytes is a byte count written as a Kubernetes quantity ("64Mi", "1G").
type Bytes int64

func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	q, err := units.ParseK8sQuantity(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a quantity like 64Mi: %v", n.Line, s, err)
	}
	*b = Bytes(q.Value())
	return nil
}

// Duration is a Go duration ("30s").
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30s: %v", n.Line, s, err)
	}
	*d = Duration(v)
	return nil
}

// Config is the whole file.
type Config struct {
	Rules    Thresholds    `yaml:"rules"`
	Suppress []Suppression `yaml:"suppress"`
}

// Suppression silences findings of Rule (a rule ID or "*") whose subject
// matches the Subject glob: "*" matches any run of characters, "/" included
// ("batch/*" covers every pod and container of namespace batch), "?" one.
// Suppressed findings stay in every output, marked, and never count for --fail-on.
type Suppression struct {
	Rule    string `yaml:"rule"`
	Subject string `yaml:"subject"`
	Reason  string `yaml:"reason"`
}

// Thresholds has one section per rule.
type Thresholds struct {
	OOMKill             struct{} `yaml:"oom-kill"`
	WorkingSetPageCache struct {
		WorkingSetRatio float64 `yaml:"working_set_ratio"`
		TopFiles        int     `yaml:"top_files"`
	} `yaml:"working-set-page-cache"`
	PodOrphanedMemory struct {
		MinBytes Bytes   `yaml:"min_bytes"`
		MinRatio float64 `yaml:"min_ratio"`
	} `yaml:"pod-orphaned-memory"`
	TmpfsMemory struct {
		MinBytes Bytes `yaml:"min_bytes"`
	} `yaml:"tmpfs-memory"`
	KubepodsLimitDrift struct {
		ToleranceBytes Bytes `yaml:"tolerance_bytes"`
	} `yaml:"kubepods-limit-drift"`
	NodeMemoryPressure struct {
		WarnFactor float64 `yaml:"warn_factor"`
	} `yaml:"node-memory-pressure"`
	AgentScrapePileup struct {
		ScrapeInterval  Duration `yaml:"scrape_interval"`
		ScrapePathShare float64  `yaml:"scrape_path_share"`
	} `yaml:"agent-scrape-pileup"`
	HeapProfileTop struct {
		TopFunctions int `yaml:"top_functions"`
	} `yaml:"heap-profile-top"`
	MemoryHighThrottling struct {
		PSISomeAvg10 float64 `yaml:"psi_some_avg10"`
	} `yaml:"memory-high-throttling"`
	NoMemoryLimit struct {
		NodeAvailableRatio float64 `yaml:"node_available_ratio"`
	} `yaml:"no-memory-limit"`
	KernelMemoryHigh struct {
		KernelRatio float64 `yaml:"kernel_ratio"`
		MinBytes    Bytes   `yaml:"min_bytes"`
	} `yaml:"kernel-memory-high"`
	MissingSource struct{} `yaml:"missing-source"`
	Catalogue2    `yaml:",inline"`
	MemoryGrowth  struct {
		Trend          `yaml:",inline"`
		CriticalWithin Duration `yaml:"critical_within"`
		WarningWithin  Duration `yaml:"warning_within"`
	} `yaml:"memory-growth"`
	PageCacheGrowth struct {
		Trend           `yaml:",inline"`
		AnonFlatRatio   float64  `yaml:"anon_flat_ratio"`
		WorkingSetRatio float64  `yaml:"working_set_ratio"`
		WarningWithin   Duration `yaml:"warning_within"`
	} `yaml:"page-cache-growth"`
	RestartLoop struct {
		CriticalRestarts int `yaml:"critical_restarts"`
	} `yaml:"restart-loop"`
	ReclaimPressure struct {
		RefaultsPerSecond float64 `yaml:"refaults_per_second"`
		StallShare        float64 `yaml:"stall_share"`
	} `yaml:"reclaim-pressure"`
	NodeTowardEviction struct {
		Trend          `yaml:",inline"`
		CriticalWithin Duration `yaml:"critical_within"`
		WarningWithin  Duration `yaml:"warning_within"`
	} `yaml:"node-toward-eviction"`
}

// Catalogue2 holds the thresholds of rule catalogue II (#16), inline in
// Thresholds so the YAML keeps one section per rule.
type Catalogue2 struct {
	RuntimeHeapVsLimit struct {
		JVMOffHeapRatio  float64 `yaml:"jvm_offheap_ratio"`
		GoOffHeapRatio   float64 `yaml:"go_offheap_ratio"`
		NodeOffHeapRatio float64 `yaml:"node_offheap_ratio"`
	} `yaml:"runtime-heap-vs-limit"`
	NodeOvercommit struct {
		LimitsRatio float64 `yaml:"limits_ratio"`
	} `yaml:"node-overcommit"`
	LimitRightsizing struct {
		AtRiskRatio  float64 `yaml:"at_risk_ratio"`
		WasteRatio   float64 `yaml:"waste_ratio"`
		MinWaste     Bytes   `yaml:"min_waste"`
		RequestSlack float64 `yaml:"request_slack"`
		LimitSlack   float64 `yaml:"limit_slack"`
	} `yaml:"limit-rightsizing"`
	EvictionOrder struct {
		TopPods int `yaml:"top_pods"`
	} `yaml:"eviction-order"`
	SystemOOMBeforeEviction struct {
		MinEvictionHard Bytes `yaml:"min_eviction_hard"`
	} `yaml:"system-oom-before-eviction"`
	NodeDaemonOOM struct {
		Daemons        []string `yaml:"daemons"`
		MaxOOMScoreAdj int      `yaml:"max_oom_score_adj"`
	} `yaml:"node-daemon-oom"`
	DyingMemcgs struct {
		MinDying   int64   `yaml:"min_dying"`
		DyingRatio float64 `yaml:"dying_ratio"`
	} `yaml:"dying-memcgs"`
	THPInflation struct {
		THPRatio float64 `yaml:"thp_ratio"`
		MinBytes Bytes   `yaml:"min_bytes"`
	} `yaml:"thp-inflation"`
	FragmentationOOM struct {
		MinFree        Bytes   `yaml:"min_free"`
		HighOrderRatio float64 `yaml:"high_order_ratio"`
	} `yaml:"fragmentation-oom"`
	KmemAccountingLeak struct {
		NearLimitRatio float64 `yaml:"near_limit_ratio"`
	} `yaml:"kmem-accounting-leak"`
	DirtyWritebackOOM struct {
		DirtyRatio float64 `yaml:"dirty_ratio"`
	} `yaml:"dirty-writeback-oom"`
	SwapAndHugepages struct {
		HugepagesWarnRatio float64 `yaml:"hugepages_warn_ratio"`
		MinSwap            Bytes   `yaml:"min_swap"`
	} `yaml:"swap-and-hugepages"`
}

// Trend is the growth gate the time-axis rules share (analyzer/internal/series).
type Trend struct {
	// MinRank is the Spearman rank correlation of value with time a
	// series needs to count as steadily moving (a GC sawtooth is near 0).
	MinRank float64 `yaml:"min_rank"`
	// MinRise is the least fitted change over the window worth a finding.
	MinRise Bytes `yaml:"min_rise"`
	// MinSamples is the least number of samples to fit.
	MinSamples int `yaml:"min_samples"`
}

// Default returns the embedded defaults.
func Default() *Config {
	c := &Config{}
	if err := decodeInto(c, defaultsYAML); err != nil {
		panic("config: embedded defaults.yaml is invalid: " + err.Error())
	}
	return c
}

// Load returns the defaults overridden by the YAML read from r. Unknown keys,
// wrong types and suppressions without a rule, subject or reason are errors.
func Load(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	c := Default()
	if err := decodeInto(c, data); err != nil {
		return nil, err
	}
	for i, s := range c.Suppress {
		if s.Rule == "" || s.Subject == "" || s.Reason == "" {
			return nil, fmt.Errorf("suppress[%d]: rule, subject and reason are all required", i)
		}
	}
	return c, nil
}

func decodeInto(c *Config, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Suppressed returns the reason when a finding of rule with subject is suppressed.
func (c *Config) Suppressed(rule, subject string) (string, bool) {
	for _, s := range c.Suppress {
		if s.Rule != "*" && s.Rule != rule {
			continue
		}
		if globMatch(s.Subject, subject) {
			return s.Reason, true
		}
	}
	return "", false
}

func globMatch(glob, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}
