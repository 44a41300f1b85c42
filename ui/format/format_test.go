package format

import (
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
)

func TestFitKeepsWidthWithWideCharacters(t *testing.T) {
	for _, s := range []string{"ws-fin-0231.contoso.local", "会議室-pc01", "🔥🔥🔥 hot host 🔥", "", "a"} {
		for _, w := range []int{1, 2, 5, 9, 12, 30} {
			got := Fit(s, w)
			if n := ansi.StringWidth(got); n != w {
				t.Fatalf("Fit(%q, %d) = %q is %d cells", s, w, got, n)
			}
			if n := ansi.StringWidth(FitRight(s, w)); n != w {
				t.Fatalf("FitRight(%q, %d) is %d cells", s, w, n)
			}
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{45 * time.Second, "45s"}, {12 * time.Minute, "12m"}, {3*time.Hour + 5*time.Minute, "3h05m"}, {52 * time.Hour, "2d04h"}, {-time.Hour, "0s"}} {
		if got := Age(now, mde.Timestamp{Time: now.Add(-c.d)}); got != c.want {
			t.Fatalf("Age(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if Age(now, mde.Timestamp{}) != "?" {
		t.Fatal("unknown time not shown as ?")
	}
}

func TestUnknownValuesAreShown(t *testing.T) {
	if TypeLabel("ContainDevice") != "ContainDevice" || TypeLabel("") != "(no type)" || TypeLabel(mde.TypeCollectInvestigationPackage) != "Collect pkg" {
		t.Fatal("type labels")
	}
	if Status("Weird") != "Weird" || Status("") != "(none)" {
		t.Fatal("status words")
	}
	if Device(mde.MachineAction{MachineID: "abc"}) != "abc" || Device(mde.MachineAction{}) != "(unknown device)" {
		t.Fatal("device fallback")
	}
}
