package ui

import (
	"testing"

	"github.com/mdeactions/mdeactions/mde/mdesim"
)

// BenchmarkShow50k is issue #6's "time to show" of a listing: from the
// 50,000 open actions the client decoded (a simulator tenant of exactly
// 50,000 open, mdesim.Options.Open) to the first frame through the root
// model: the rows, the search index and the View at 80x24.
func BenchmarkShow50k(b *testing.B) {
	const n = 50_000
	sim := mdesim.New(mdesim.Options{Seed: 7, Actions: n, Open: n, Clock: mdesim.NewManualClock(scaleNow), NoLimits: true})
	acts := sim.Actions()
	if len(acts) != n {
		b.Fatalf("%d actions, want %d", len(acts), n)
	}
	b.ReportAllocs()
	for b.Loop() {
		m := loadedModel(acts, 80, 24)
		_ = m.View()
	}
	b.ReportMetric(float64(n), "actions")
}
