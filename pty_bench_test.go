package main

// Benchmarks of issue #6 through the built binary in a real pty at 80x24
// (pty_test.go has the harness). make bench prints them in BENCHMARKS.md.

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

// BenchmarkPTYStartup is the time from starting `mdeactions --demo` to its
// first output holding a row, with no reply to any terminal query; one
// launch per iteration, the median reported.
func BenchmarkPTYStartup(b *testing.B) {
	bin := buildBinary(b)
	var took []time.Duration
	for b.Loop() {
		p := startPTY(b, bin, ptyEnv(b), "--demo")
		took = append(took, p.waitRows(10*time.Second))
		p.quit()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "ms/first-rows")
}

// BenchmarkPTYDemo counts the bytes of `--demo` in a pty: idle for 3 s
// after the first screen settles (within the 30 s of the automatic
// refresh), then 30 cursor-downs and 6 page-downs.
func BenchmarkPTYDemo(b *testing.B) {
	benchPTY(b, "")
}

// BenchmarkPTYASCII is BenchmarkPTYDemo on a simulator tenant of 2,000
// open actions whose texts are all ASCII.
func BenchmarkPTYASCII(b *testing.B) {
	benchPTY(b, openSim(b, 2_000, true).URL)
}

// benchPTY runs the demo, or the binary against the simulator at simURL.
func benchPTY(b *testing.B, simURL string) {
	bin := buildBinary(b)
	var r ptyFigures
	for b.Loop() {
		if simURL == "" {
			r = runPTYDemo(b, bin, 3*time.Second, 30, 6)
		} else {
			env, args := simArgs(b, simURL)
			r = runPTY(b, bin, env, 3*time.Second, 30, 6, args...)
		}
	}
	mean := 0.0
	for _, d := range r.down {
		mean += float64(d) / float64(len(r.down))
	}
	b.ReportMetric(float64(maxInt(r.down)), "max-B/down")
	b.ReportMetric(mean, "B/down")
	b.ReportMetric(float64(maxInt(r.pgdn)), "max-B/pgdown")
	b.ReportMetric(float64(r.idle)/r.idleFor.Seconds(), "idle-B/s")
	b.ReportMetric(float64(r.firstFrame), "B/first-frame")
}

// BenchmarkPeakRSS100k is the peak memory (VmHWM) of the binary listing
// 100,000 open actions from a simulator in this process (whose memory is
// not counted), read once the header shows all of them.
func BenchmarkPeakRSS100k(b *testing.B) {
	const n = 100_000
	bin := buildBinary(b)
	srv := openSim(b, n, false)
	var mb, reload float64
	for b.Loop() {
		env, args := simArgs(b, srv.URL)
		p := startPTY(b, bin, env, args...)
		p.waitText(fmt.Sprintf("%d actions", n), 2*time.Minute)
		mb = vmHWM(b, p.cmd.Process.Pid)
		// A reload holds the list on screen while the next one arrives:
		// wait until every page was served again and the screen settled.
		// Meanwhile the tenant changed as a busy one does: 1 % of the
		// actions moved on, 100 finished and 100 new ones came.
		changeTenant(srv.Sim, n/100, 100)
		calls := srv.Sim.Requests(mdesim.EndpointList)
		if _, err := io.WriteString(p.f, "r"); err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(2 * time.Minute); srv.Sim.Requests(mdesim.EndpointList) < 2*calls; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the reload did not happen")
			}
		}
		p.settle(p.bytes(), time.Second)
		reload = vmHWM(b, p.cmd.Process.Pid)
		p.quit()
	}
	b.ReportMetric(mb, "MB-VmHWM")
	b.ReportMetric(reload, "MB-VmHWM-reload")
}

// vmHWM reads a process's peak resident set size, in MiB.
func vmHWM(tb testing.TB, pid int) float64 {
	tb.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc here: %v", err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// changeTenant changes actions of the simulator's tenant (their comment and
// status), finishes others and adds new ones, as between two refreshes.
func changeTenant(sim *mdesim.Simulator, changed, came int) {
	acts := sim.Actions()
	for i := 0; i < changed && i < len(acts); i++ {
		a := acts[len(acts)/2+i]
		a.Status, a.RequestorComment = mde.StatusInProgress, a.RequestorComment+" (escalated)"
		a.LastUpdateDateTimeUtc.Time = a.LastUpdateDateTimeUtc.Add(time.Second)
		sim.Put(a)
	}
	for i := 0; i < came && i < len(acts); i++ {
		done, a := acts[i], acts[len(acts)-1-i]
		done.Status = mde.StatusSucceeded
		sim.Put(done)
		a.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		a.CreationDateTimeUtc.Time = a.CreationDateTimeUtc.Add(time.Hour)
		sim.Put(a)
	}
}
