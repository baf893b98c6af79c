package cpu

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCPUModel checks the CPUID vendor and brand string against the
// kernel's own reading of them in /proc/cpuinfo (Linux only), and isIntel
// against the vendor.
func TestCPUModel(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo:", err)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*:\s*(.*)$`).FindSubmatch(info)
		if m == nil {
			t.Fatalf("/proc/cpuinfo has no %q", name)
		}
		return strings.TrimSpace(string(m[1]))
	}
	vendor, brand := field("vendor_id"), field("model name")
	if want := brand + " (" + vendor + ")"; CPUModel() != want {
		t.Errorf("CPUModel() = %q, /proc/cpuinfo says %q", CPUModel(), want)
	}
	if isIntel != (vendor == "GenuineIntel") {
		t.Errorf("isIntel = %v for vendor %s", isIntel, vendor)
	}
}
