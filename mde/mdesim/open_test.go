package mdesim

import (
	"testing"
	"time"
)

// Options.Open seeds a tenant with exactly that many open actions, in one
// generation and one sort, however large.
func TestOptionsOpenIsExact(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ actions, open, want int }{
		{0, 3, 400}, {10, 10, 10}, {1000, 250, 1000}, {20_000, 20_000, 20_000}, {5, 20, 20},
	} {
		s := New(Options{Seed: 4, Actions: tc.actions, Open: tc.open, NoLimits: true, Clock: NewManualClock(start)})
		acts := s.Actions()
		open := 0
		for _, a := range acts {
			if a.Status.Open() {
				open++
			}
		}
		if len(acts) != tc.want || open != tc.open {
			t.Errorf("Actions %d, Open %d: %d actions, %d open; want %d, %d", tc.actions, tc.open, len(acts), open, tc.want, tc.open)
		}
	}
}
