package main

import (
	"fmt"
	"strings"
	"time"
)

// sliceShow renders `systemctl show <slice>` as systemd 219 (CentOS 7,
// Alibaba Cloud Linux 2) prints it for a transient slice that runc's
// systemd cgroup driver created. systemd 219 knows MemoryLimit= only
// (MemoryMax= arrived with the unified hierarchy in 231).
func sliceShow(unit, parent string, memCurrent int64, memLimit string, cpuShares int, dropIns []string, wants []string, boot, active time.Time) string {
	var b strings.Builder
	p := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, v) }
	p("Slice", parent)
	p("ControlGroup", "/"+unit)
	p("MemoryCurrent", fmt.Sprint(memCurrent))
	p("TasksCurrent", "18446744073709551615")
	p("Delegate", "no")
	p("CPUAccounting", "yes")
	p("CPUShares", fmt.Sprint(cpuShares))
	p("StartupCPUShares", "18446744073709551615")
	p("CPUQuotaPerSecUSec", "infinity")
	p("BlockIOAccounting", "yes")
	p("BlockIOWeight", "18446744073709551615")
	p("StartupBlockIOWeight", "18446744073709551615")
	p("MemoryAccounting", "yes")
	p("MemoryLimit", memLimit)
	p("DevicePolicy", "auto")
	p("TasksAccounting", "no")
	p("TasksMax", "18446744073709551615")
	p("Id", unit)
	p("Names", unit)
	p("Requires", parent)
	p("Wants", strings.Join(wants, " "))
	p("Before", strings.Join(wants, " "))
	p("After", parent)
	p("Description", "libcontainer container "+unit)
	p("LoadState", "loaded")
	p("ActiveState", "active")
	p("SubState", "active")
	p("FragmentPath", "/run/systemd/system/"+unit)
	p("DropInPaths", strings.Join(dropIns, " "))
	p("UnitFileState", "transient")
	p("UnitFilePreset", "disabled")
	stamp := active.UTC().Format("Mon 2006-01-02 15:04:05 MST")
	mono := fmt.Sprint(active.Sub(boot).Microseconds())
	p("InactiveExitTimestamp", stamp)
	p("InactiveExitTimestampMonotonic", mono)
	p("ActiveEnterTimestamp", stamp)
	p("ActiveEnterTimestampMonotonic", mono)
	p("ActiveExitTimestampMonotonic", "0")
	p("InactiveEnterTimestampMonotonic", "0")
	p("CanStart", "no")
	p("CanStop", "yes")
	p("CanReload", "no")
	p("CanIsolate", "no")
	p("StopWhenUnneeded", "no")
	p("RefuseManualStart", "no")
	p("RefuseManualStop", "no")
	p("AllowIsolate", "no")
	p("DefaultDependencies", "yes")
	p("OnFailureJobMode", "replace")
	p("IgnoreOnIsolate", "no")
	p("IgnoreOnSnapshot", "no")
	p("NeedDaemonReload", "no")
	p("JobTimeoutUSec", "0")
	p("JobTimeoutAction", "none")
	p("ConditionResult", "yes")
	p("AssertResult", "yes")
	p("ConditionTimestamp", stamp)
	p("ConditionTimestampMonotonic", mono)
	p("AssertTimestamp", stamp)
	p("AssertTimestampMonotonic", mono)
	p("Transient", "yes")
	return b.String()
}
