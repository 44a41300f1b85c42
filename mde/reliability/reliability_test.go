package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTableIsThere: RELIABILITY.md holds a generated table in which no row
// lost or double-sent anything or left the terminal unclean.
func TestTableIsThere(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "RELIABILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| area ") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 7 {
			continue
		}
		rows++
		lost, twice, term := cells[len(cells)-4], cells[len(cells)-3], cells[len(cells)-2]
		if lost != "0" || twice != "0" || (term != "clean" && term != "no terminal") {
			t.Fatalf("a row reports a loss, a double send or a dirty terminal: %s", line)
		}
	}
	if rows < 30 {
		t.Fatalf("RELIABILITY.md has %d rows: run make reliability", rows)
	}
}

func TestRecordFailsOnLoss(t *testing.T) {
	t.Setenv(EnvVar, "") // the rows of this test are not real
	ft := &fakeT{TB: t}
	Record(ft, Row{Fault: "x", Lost: 1})
	Record(ft, Row{Fault: "y", Terminal: "left ESC[?1049h"})
	if ft.errors != 2 {
		t.Fatalf("%d errors, want 2", ft.errors)
	}
}

type fakeT struct {
	testing.TB
	errors int
}

func (f *fakeT) Errorf(string, ...any) { f.errors++ }
func (f *fakeT) Helper()               {}
