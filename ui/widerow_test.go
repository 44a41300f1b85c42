package ui

// Why a wide character costs bytes on every frame (BENCHMARKS.md, note ¹):
// not our drawing. A row holding a CJK device name that the cursor does not
// touch is drawn to exactly the same cells from frame to frame (the padding
// after the wide character included); Bubble Tea clears its cell buffer
// before drawing each frame, which marks every line touched, and
// ultraviolet repaints a touched line holding a wide cell whole instead of
// diffing it.

import (
	"strings"
	"testing"

	uv "github.com/charmbracelet/ultraviolet"
)

func TestWideRowDrawsTheSameCellsWhenTheCursorMoves(t *testing.T) {
	const wide = "会議室-pc01"
	acts := asciiTenant(15)
	acts[len(acts)/2].ComputerDNSName = wide
	m := loadedModel(acts, 80, 24)

	// draw is what Bubble Tea's renderer does with a frame: clear the cell
	// buffer, then draw the view into it.
	buf := uv.NewScreenBuffer(80, 24) // as Bubble Tea's renderer has it
	draw := func(m Model) int {
		buf.Touched = nil
		buf.Clear()
		uv.NewStyledString(m.View().Content).Draw(buf, buf.Bounds())
		y := -1
		for i := range 24 {
			if l := buf.Line(i).String(); strings.Contains(l, "会議室") {
				if strings.HasPrefix(l, "> ") {
					t.Fatalf("the wide row is the cursor row; the test needs another")
				}
				y = i
			}
		}
		if y < 0 {
			t.Fatalf("no row with %s on screen:\n%s", wide, m.View().Content)
		}
		return y
	}

	y := draw(m)
	before := append(uv.Line(nil), buf.Line(y)...)
	if w := lineWidth(before); w != 80 {
		t.Fatalf("the wide row is %d cells wide, want 80", w)
	}
	m = keystroke(m)
	if y2 := draw(m); y2 != y {
		t.Fatalf("the wide row moved from line %d to %d", y, y2)
	}
	after := buf.Line(y)
	for x := range before {
		if !before[x].Equal(&after[x]) {
			t.Fatalf("cell %d of the wide row changed: %+v -> %+v", x, before[x], after[x])
		}
	}
	// The line is still touched: Clear touched every line, so the renderer
	// visits it and, the line holding a wide cell, repaints it whole.
	if ch := buf.Touched[y]; ch == nil || ch.FirstCell == -1 {
		t.Fatalf("the clear did not touch the line: the note in BENCHMARKS.md is out of date")
	}
}

// lineWidth is how many columns a drawn line takes, wide cells counted
// once with their width.
func lineWidth(l uv.Line) int {
	w := 0
	for x := 0; x < len(l); {
		cw := max(l[x].Width, 1)
		w += cw
		x += cw
	}
	return w
}
