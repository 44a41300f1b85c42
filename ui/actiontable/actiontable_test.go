package actiontable

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/charmbracelet/x/ansi"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/keys"
)

func TestColumnsGiveWayByPriorityAndFillTheWidth(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ctx := &common.Context{Styles: common.NewStyles(true), Keys: keys.Default(), Now: func() time.Time { return now }}
	rows := []Row{
		NewRow(mde.MachineAction{ID: "1", Type: mde.TypeIsolate, Status: mde.StatusPending, ComputerDNSName: "会議室-pc01 🔥", Requestor: "alex@contoso.com", RequestorComment: "c", CreationDateTimeUtc: mde.Timestamp{Time: now.Add(-time.Hour)}}),
		NewRow(mde.MachineAction{ID: "2", Type: "SomethingNew", Status: "Queued", ComputerDNSName: "srv", CreationDateTimeUtc: mde.Timestamp{Time: now.Add(-49 * time.Hour)}}),
	}
	for _, tc := range []struct {
		width              int
		requestor, comment bool
	}{{60, false, false}, {69, false, false}, {70, true, false}, {79, true, false}, {80, true, true}, {120, true, true}, {200, true, true}} {
		m := New(ctx)
		m.SetSize(tc.width, 5)
		m.SetRows(rows)
		lines := strings.Split(m.View(), "\n")
		for i, l := range lines[:3] {
			if w := ansi.StringWidth(l); w != tc.width {
				t.Fatalf("width %d: line %d is %d cells: %q", tc.width, i, w, ansi.Strip(l))
			}
		}
		title := lines[0]
		if strings.Contains(title, "REQUESTOR") != tc.requestor || strings.Contains(title, "COMMENT") != tc.comment {
			t.Fatalf("width %d: columns %q", tc.width, title)
		}
		for _, must := range []string{"TYPE", "STATUS", "DEVICE", "AGE"} {
			if !strings.Contains(title, must) {
				t.Fatalf("width %d lost the %s column", tc.width, must)
			}
		}
	}
}

// A row is held per action (100,000 in BENCHMARKS.md, item 5): it points
// at the action and computes its text when drawn, within 48 bytes.
func TestRowFitsIn48Bytes(t *testing.T) {
	if n := unsafe.Sizeof(Row{}); n > 48 {
		t.Errorf("Row is %d bytes, over 48", n)
	}
}
