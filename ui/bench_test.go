package ui

// Benchmarks of issue #6 for the list (make bench prints them as one table
// in BENCHMARKS.md). The budgets that do not depend on the machine's speed
// are tests in budget_test.go.

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

var sizes = []int{1_000, 10_000, 100_000}

func sizeName(n int) string { return fmt.Sprintf("N=%dk", n/1000) }

// BenchmarkKeystroke is one cursor-down through the root model, Update and
// View, at 80x24.
func BenchmarkKeystroke(b *testing.B) {
	for _, n := range sizes {
		m := loadedModel(tenant(n), 80, 24)
		benchKeys(b, n, func() { m = keystroke(m) })
	}
}

// BenchmarkKeystrokeStockTable is the baseline: the same keystroke on
// charm.land/bubbles/v2/table with the same rows.
func BenchmarkKeystrokeStockTable(b *testing.B) {
	t := stockTable(tenant(100_000), 80, 24)
	benchKeys(b, 100_000, func() { t = stockKeystroke(t) })
}

func benchKeys(b *testing.B, n int, key func()) {
	b.Run(sizeName(n), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			key()
		}
	})
}

// BenchmarkSearchKeystroke is one keystroke in the "/" search at 100,000
// actions through the root model (Update, the index's search, View): it
// types "ws-fin" and deletes it again, one key at a time.
func BenchmarkSearchKeystroke(b *testing.B) {
	b.Run(sizeName(100_000), func(b *testing.B) {
		m := loadedModel(tenant(100_000), 80, 24)
		nm, _ := m.Update(keyPress("/"))
		m = nm.(Model)
		var script []tea.KeyPressMsg
		for _, c := range "ws-fin" {
			script = append(script, keyPress(string(c)))
		}
		for range "ws-fin" {
			script = append(script, keyPress("backspace"))
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			nm, _ := m.Update(script[i%len(script)])
			m = nm.(Model)
			_ = m.View()
		}
	})
}

// BenchmarkTerminalBytes counts the bytes a real tea.Program writes at
// 80x24 per key, with ASCII device names and with the demo tenant, whose
// one CJK device name on screen the renderer repaints on every frame.
func BenchmarkTerminalBytes(b *testing.B) {
	for _, tc := range []struct{ name string }{{"ascii"}, {"demo"}} {
		b.Run(tc.name, func(b *testing.B) {
			acts := tenant(2_000)
			if tc.name == "ascii" {
				acts = asciiTenant(2_000)
			}
			var r keyBytes
			for b.Loop() {
				r = measureKeyBytes(b, acts)
			}
			b.ReportMetric(float64(max(maxOf(r.down), maxOf(r.scroll))), "max-B/down")
			b.ReportMetric((meanOf(r.down)*float64(len(r.down))+meanOf(r.scroll)*float64(len(r.scroll)))/float64(len(r.down)+len(r.scroll)), "B/down")
			b.ReportMetric(float64(maxOf(r.pgdown)), "max-B/pgdown")
			b.ReportMetric(float64(r.init), "B/first-frame")
		})
	}
}

// BenchmarkIdleBytes is what an idle list writes per second at 120x40
// while it reloads the same data every 100 ms.
func BenchmarkIdleBytes(b *testing.B) {
	const idle = 2 * time.Second
	var n int64
	for b.Loop() {
		n, _ = idleBytes(b, asciiTenant(500), 120, 40, idle)
	}
	b.ReportMetric(float64(n)/idle.Seconds(), "B/s")
}
