package agentlog

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AllocatableEnforcement is kubelet's report of writing the kubepods cgroup
// limit: events NodeAllocatableEnforced "Updated Node Allocatable limit
// across pods" and FailedNodeAllocatableEnforcement "Failed to update Node
// Allocatable Limits %q: %v" (kubernetes/kubernetes:pkg/kubelet/cm/
// node_container_manager_linux.go; DOMAIN §5). kubelet retries failures
// every minute, so a run of failures means a kubepods limit that is stale.
type AllocatableEnforcement struct {
	Line    int
	Time    time.Time
	OK      bool
	Error   string // the failure text, when !OK
	Message string
}

var allocFailed = regexp.MustCompile(`Failed to update Node Allocatable Limits (.*)`)

func (p *parser) allocatable(n int, e entry) {
	text, kv, _ := structured(e.msg)
	msg := e.msg
	if m, ok := kv["message"]; ok {
		msg = m
	}
	switch {
	case strings.Contains(msg, "Updated Node Allocatable limit across pods"):
		p.log.Allocatable = append(p.log.Allocatable, AllocatableEnforcement{Line: n, Time: e.time, OK: true, Message: text})
	case allocFailed.MatchString(msg):
		errText := strings.TrimRight(allocFailed.FindStringSubmatch(msg)[1], `"`)
		p.log.Allocatable = append(p.log.Allocatable, AllocatableEnforcement{Line: n, Time: e.time, Error: errText, Message: text})
	}
}

// NodeConfig is what kubelet's startup line "Creating Container Manager
// object based on Node Config" states (kubernetes/kubernetes:pkg/kubelet/cm/
// container_manager_linux.go). Three forms exist: klog's %+v of the struct
// (≤ 1.20), the same inside a structured line (`nodeConfig={…}`), and JSON
// (`nodeConfig={"RuntimeCgroupsName":…}`, later klog). Journal viewers cut
// long lines ("…KubeletCgr>"), so every field is optional.
type NodeConfig struct {
	Line      int
	Time      time.Time
	Form      string // "klog" (%+v) or "json"
	Truncated bool   // the line ends before the config does

	CgroupDriver           string // "" when not stated
	CgroupRoot             string
	EnforceNodeAllocatable []string // e.g. [pods]; nil when not stated

	// Reserved memory in bytes; nil when the line does not state it, 0 when
	// it states an empty map.
	KubeReservedMemory, SystemReservedMemory *int64
	// HardEvictionMemory is the hard memory.available threshold: Quantity
	// as printed ("100Mi") with Bytes, or a Percentage of capacity (0.05 =
	// 5 %). nil when the line states no such threshold.
	HardEvictionMemory *EvictionThreshold
}

// EvictionThreshold is one eviction threshold value.
type EvictionThreshold struct {
	Quantity   string
	Bytes      *int64
	Percentage float64
}

var (
	cfgDriver  = regexp.MustCompile(`"?CgroupDriver"?[:]"?([\w]*)`)
	cfgRoot    = regexp.MustCompile(`"?CgroupRoot"?:"?([^\s",}]*)`)
	cfgEnforce = regexp.MustCompile(`EnforceNodeAllocatable:map\[([^\]]*)\]|"EnforceNodeAllocatable":(\{(?:"[\w-]+":\{\},?)*\}|null)`)
	cfgKlogMem = regexp.MustCompile(`memory:\{i:\{value:(-?\d+) scale:(-?\d+)\} d:\{Dec:[^}]*\} s:(\S*) Format:\w*\}`)
	cfgJSONMem = regexp.MustCompile(`"memory":"([^"]+)"`)
	cfgKlogHE  = regexp.MustCompile(`\{Signal:memory\.available Operator:\w+ Value:\{Quantity:(\S+) Percentage:([-\d.e+]+)\}`)
	cfgJSONHE  = regexp.MustCompile(`"Signal":"memory\.available","Operator":"\w+","Value":\{"Quantity":(?:"([^"]*)"|null),"Percentage":([-\d.e+]+)\}`)
	enforceKey = regexp.MustCompile(`"?([\w-]+)"?:\{\}`)
)

func (p *parser) nodeConfig(n int, e entry) {
	i := strings.Index(e.msg, "{")
	if i < 0 {
		p.problem(n, "container manager node config line without a config")
		return
	}
	cfg := e.msg[i:]
	c := NodeConfig{Line: n, Time: e.time, Form: "klog"}
	if strings.HasPrefix(cfg, `{"`) {
		c.Form = "json"
	}
	c.Truncated = !strings.HasSuffix(strings.TrimRight(cfg, " \t"), "}")
	if m := cfgDriver.FindStringSubmatch(cfg); m != nil {
		c.CgroupDriver = m[1]
	}
	if m := cfgRoot.FindStringSubmatch(cfg); m != nil {
		c.CgroupRoot = m[1]
	}
	if m := cfgEnforce.FindStringSubmatch(cfg); m != nil {
		c.EnforceNodeAllocatable = []string{}
		for _, k := range enforceKey.FindAllStringSubmatch(m[1]+m[2], -1) {
			c.EnforceNodeAllocatable = append(c.EnforceNodeAllocatable, k[1])
		}
	}
	c.KubeReservedMemory = reservedMemory(cfg, "KubeReserved")
	c.SystemReservedMemory = reservedMemory(cfg, "SystemReserved")
	if m := cfgKlogHE.FindStringSubmatch(cfg); m != nil {
		c.HardEvictionMemory = threshold(m[1], m[2])
	} else if m := cfgJSONHE.FindStringSubmatch(cfg); m != nil {
		c.HardEvictionMemory = threshold(m[1], m[2])
	}
	p.log.NodeConfigs = append(p.log.NodeConfigs, c)
}

// reservedMemory reads the memory entry of KubeReserved/SystemReserved:
// klog's %+v of a map of resource.Quantity values prints each as its struct
// (`memory:{i:{value:104857600 scale:0} d:{Dec:<nil>} s:100Mi Format:BinarySI}`;
// s is empty when the quantity was computed), JSON prints "memory":"100Mi".
func reservedMemory(cfg, key string) *int64 {
	var body string
	if i := strings.Index(cfg, key+":map["); i >= 0 {
		body = cfg[i+len(key)+5:]
		if j := strings.IndexByte(body, ']'); j >= 0 {
			body = body[:j]
		} else {
			return nil // cut off
		}
		if m := cfgKlogMem.FindStringSubmatch(body); m != nil {
			if b := quantityBytes(m[3]); b != nil {
				return b
			}
			return scaled(m[1], m[2])
		}
	} else if i := strings.Index(cfg, `"`+key+`":`); i >= 0 {
		body = cfg[i+len(key)+3:]
		if strings.HasPrefix(body, "null") {
			zero := int64(0)
			return &zero
		}
		j := strings.IndexByte(body, '}')
		if j < 0 {
			return nil
		}
		body = body[:j]
		if m := cfgJSONMem.FindStringSubmatch(body); m != nil {
			return quantityBytes(m[1])
		}
	} else {
		return nil
	}
	zero := int64(0) // stated, without a memory entry
	return &zero
}

// scaled computes value × 10^scale of resource.Quantity's int64Amount,
// refusing what does not fit an int64.
func scaled(value, scale string) *int64 {
	v, err1 := strconv.ParseInt(value, 10, 64)
	s, err2 := strconv.Atoi(scale)
	if err1 != nil || err2 != nil || s < 0 || s > 18 {
		return nil
	}
	f := float64(v) * math.Pow10(s)
	if math.Abs(f) >= math.MaxInt64 {
		return nil
	}
	out := v
	for ; s > 0; s-- {
		out *= 10
	}
	return &out
}

func threshold(quantity, pct string) *EvictionThreshold {
	t := &EvictionThreshold{}
	if quantity != "" && quantity != "<nil>" {
		t.Quantity, t.Bytes = quantity, quantityBytes(quantity)
	}
	t.Percentage, _ = strconv.ParseFloat(pct, 64)
	return t
}
