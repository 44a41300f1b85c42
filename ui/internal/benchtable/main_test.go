package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/mdeactions/mdeactions/ui
BenchmarkKeystroke/N=100k-2      	    1566	    662572 ns/op	   67748 B/op	     606 allocs/op
BenchmarkKeystrokeStockTable/N=100k-2         	     273	   4234211 ns/op	 1711515 B/op	    3147 allocs/op
BenchmarkTerminalBytes/ascii-2                	       1	4133661985 ns/op	       203.9 B/down	      2520 B/first-frame	       222.0 max-B/down	      1933 max-B/pgdown
BenchmarkTerminalBytes/demo-2                 	       1	4182723950 ns/op	       357.3 B/down	      473.0 max-B/down
BenchmarkNew-2 	 10	 2000000 ns/op
PASS
ok  	github.com/mdeactions/mdeactions/ui	18.507s
`

func TestTableShowsFiguresBudgetsAndBaselines(t *testing.T) {
	res, order, failed := parse(strings.NewReader(sample))
	if failed || len(res) != 5 {
		t.Fatalf("parsed %d results (failed %v): %v", len(res), failed, order)
	}
	var b bytes.Buffer
	ok := table(&b, res, order)
	out := b.String()
	for _, want := range []string{
		"| 1 | keystroke, 100k actions (baseline: stock bubbles table) | 0.66 ms | 4.23 ms | ≤ 1.00 ms | yes |",
		"| 3 | bytes per cursor-down at 80x24, ASCII names, largest | 222 B |  | ≤ 300 B | yes |",
		"| 3 | bytes per cursor-down, demo tenant (a CJK name on screen), largest ¹ | 473 B |  | ≤ 300 B | **no** |",
		"| 4 | start-up to the first frame with rows, `--demo` in a real pty, no terminal query answered (median) ³ | not run |",
		"| | ui.BenchmarkNew | 2.00 ms |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if ok {
		t.Error("a budget over its limit was reported as met")
	}
}

func TestAFailedRunIsReported(t *testing.T) {
	if _, _, failed := parse(strings.NewReader("--- FAIL: BenchmarkX\nFAIL\tgithub.com/x\t1s\n")); !failed {
		t.Fatal("a failed run was not noticed")
	}
}
