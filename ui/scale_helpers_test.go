package ui

// Helpers for the budgets and benchmarks at tenant scale (budget_test.go,
// bench_test.go): a tenant of n actions from the simulator's generator, a
// root model that has loaded it, and a real tea.Program whose output is
// counted byte by byte.

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/table"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

// scaleNow is the fixed "now" of the tenant and of the model.
var scaleNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

var tenants sync.Map // n -> []mde.MachineAction

// tenant returns n actions as the simulator generates them (the same kinds
// of names, comments and statuses as the demo), the same for every caller.
// Above 1,000 the simulator's first 1,000 repeat with their own ids and
// devices (generating 100,000 takes seconds under the race detector).
func tenant(n int) []mde.MachineAction {
	if v, ok := tenants.Load(n); ok {
		return v.([]mde.MachineAction)
	}
	const gen = 1000
	sim := mdesim.New(mdesim.Options{Seed: 7, Actions: min(n, gen), Clock: mdesim.NewManualClock(scaleNow), NoLimits: true})
	base := sim.Actions()
	acts := make([]mde.MachineAction, n)
	for i := range acts {
		a := base[i%len(base)]
		if k := i / len(base); k > 0 {
			a.ID = fmt.Sprintf("%s-%d", a.ID, k)
			a.MachineID = fmt.Sprintf("%s%d", a.MachineID, k)
			a.ComputerDNSName = fmt.Sprintf("%d.%s", k, a.ComputerDNSName)
		}
		acts[i] = a
	}
	tenants.Store(n, acts)
	return acts
}

// loadedModel is the root model at w x h after a list of actions arrived.
func loadedModel(actions []mde.MachineAction, w, h int) Model {
	m := New(Options{
		Service:  &fakeService{actions: actions},
		Now:      func() time.Time { return scaleNow },
		Endpoint: "api.security.microsoft.com",
	})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	nm, _ = nm.(Model).Update(loadedMsg{gen: m.gen, actions: ptrs(actions), at: scaleNow})
	return nm.(Model)
}

var (
	downKey = tea.KeyPressMsg{Code: tea.KeyDown}
	topKey  = tea.KeyPressMsg{Code: tea.KeyHome}
)

// keystroke is one cursor-down through the root model, Update then View,
// as the program runs it; at the last row it goes back to the top.
func keystroke(m Model) Model {
	k := downKey
	if m.table.Cursor() == m.table.Len()-1 {
		k = topKey
	}
	nm, _ := m.Update(k)
	m = nm.(Model)
	_ = m.View()
	return m
}

// stockTable is the baseline: charm.land/bubbles/v2/table with the same
// columns, the same rows and the same size.
func stockTable(actions []mde.MachineAction, w, h int) table.Model {
	cols := []table.Column{{Title: "TYPE", Width: 11}, {Title: "STATUS", Width: 10}, {Title: "DEVICE", Width: 17},
		{Title: "REQUESTOR", Width: 13}, {Title: "AGE", Width: 6}, {Title: "COMMENT", Width: 13}}
	rows := make([]table.Row, len(actions))
	for i, a := range actions {
		rows[i] = table.Row{string(a.Type), string(a.Status), a.ComputerDNSName, a.Requestor, "2d22h", a.RequestorComment}
	}
	t := table.New(table.WithColumns(cols), table.WithRows(rows), table.WithFocused(true), table.WithWidth(w), table.WithHeight(h-4))
	return t
}

func stockKeystroke(t table.Model) table.Model {
	k := downKey
	if t.Cursor() == len(t.Rows())-1 {
		k = topKey
	}
	t, _ = t.Update(k)
	_ = t.View()
	return t
}

// countingWriter is the terminal: it counts what the program writes and
// says when a write came.
type countingWriter struct {
	mu     sync.Mutex
	bytes  int64
	writes int
	notify chan struct{}
}

func newCountingWriter() *countingWriter {
	return &countingWriter{notify: make(chan struct{}, 1)}
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.bytes += int64(len(p))
	w.writes++

	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *countingWriter) count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes
}

// program is a real tea.Program at a fixed size with keys written to its
// input as a terminal sends them and its output counted.
type program struct {
	tb   testing.TB
	out  *countingWriter
	in   *io.PipeWriter
	done chan struct{}
}

// quiet is how long without a write ends a frame's output: several frames
// at the renderer's 60 fps.
const quiet = 80 * time.Millisecond

func startProgram(tb testing.TB, m Model, w, h int) *program {
	tb.Helper()
	pr, pw := io.Pipe()
	p := &program{tb: tb, out: newCountingWriter(), in: pw, done: make(chan struct{})}
	tp := tea.NewProgram(m,
		tea.WithInput(pr), tea.WithOutput(p.out),
		tea.WithWindowSize(w, h),
		tea.WithColorProfile(colorprofile.ANSI256),
		tea.WithEnvironment([]string{"TERM=xterm-256color", "SSH_TTY=/dev/pts/0"}),
		tea.WithoutSignalHandler())
	go func() {
		defer close(p.done)
		_, _ = tp.Run()
	}()
	tb.Cleanup(func() {
		tp.Quit()
		_ = pw.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			tb.Error("the program did not end")
		}
	})
	return p
}

// settle waits for the first write, then until the output has been quiet
// for the quiet period (or max passed), and returns the bytes so far.
func (p *program) settle(max time.Duration) int64 {
	deadline := time.After(max)
	for {
		select {
		case <-p.out.notify:
		case <-time.After(quiet):
			return p.out.count()
		case <-deadline:
			return p.out.count()
		}
	}
}

// waitFirstFrame waits for the first write.
func (p *program) waitFirstFrame() {
	p.tb.Helper()
	select {
	case <-p.out.notify:
	case <-time.After(10 * time.Second):
		p.tb.Fatal("no frame in 10 s")
	}
}

// key sends the bytes of one key and returns what the program wrote in
// answer: it waits for the first write (up to 2 s: a key that changes
// nothing on screen writes nothing) and then for quiet.
func (p *program) key(seq string) int64 {
	p.tb.Helper()
	before := p.settle(0)
	if _, err := io.WriteString(p.in, seq); err != nil {
		p.tb.Fatal(err)
	}
	select {
	case <-p.out.notify:
	case <-time.After(2 * time.Second):
		return p.out.count() - before
	}
	return p.settle(2*time.Second) - before
}

// The bytes a terminal sends for these keys.
const (
	seqDown   = "\x1b[B"
	seqPgDown = "\x1b[6~"
)

// keyBytes is what a script of keys cost on the wire at 80x24.
type keyBytes struct {
	init                 int64
	down, scroll, pgdown []int64 // per key: down within the page, down that scrolls, page down
}

// slowService answers the list after a delay, as over a network, so that
// whatever the screen shows while a reload runs gets drawn.
type slowService struct {
	*fakeService
	delay time.Duration
}

func (s slowService) List(ctx context.Context, q mde.Query) ([]mde.MachineAction, error) {
	time.Sleep(s.delay)
	return s.fakeService.List(ctx, q)
}

// sameAges returns a copy of actions created 1 to 3 days before now, at
// half past the hour, so that their ages stay the same for half an hour
// and a reload with the same data changes nothing on screen.
func sameAges(actions []mde.MachineAction) []mde.MachineAction {
	start := time.Now()
	acts := append([]mde.MachineAction(nil), actions...)
	for i := range acts {
		acts[i].CreationDateTimeUtc = mde.Timestamp{Time: start.Add(-time.Duration(24+i%48)*time.Hour - 30*time.Minute)}
	}
	return acts
}

// measureKeyBytes runs the list at 80x24 with these actions in a real
// program: the first frame, downs to the bottom of the page and beyond,
// then page downs.
func measureKeyBytes(tb testing.TB, actions []mde.MachineAction) keyBytes {
	tb.Helper()
	acts := sameAges(actions)
	fake := &fakeService{actions: acts}
	m := New(Options{Service: fake, Endpoint: "api.security.microsoft.com"})
	p := startProgram(tb, m, 80, 24)
	p.waitFirstFrame()
	waitLists(fake, 1) // the rows come after the list, late on a busy machine
	var r keyBytes
	r.init = p.settle(3 * time.Second)
	page := loadedModel(acts, 80, 24).bodyHeight() - 1 // data rows under the column titles
	for i := range page + 20 {
		b := p.key(seqDown)
		if i < page-1 {
			r.down = append(r.down, b)
		} else {
			r.scroll = append(r.scroll, b)
		}
	}
	for range 5 {
		r.pgdown = append(r.pgdown, p.key(seqPgDown))
	}
	return r
}

// waitLists waits (up to 10 s) until the service was listed n times.
func waitLists(fake *fakeService, n int) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		fake.mu.Lock()
		done := fake.lists >= n
		fake.mu.Unlock()
		if done {
			return
		}
	}
}

// idleBytes is what the list writes at w x h while nobody types, for the
// idle period after its first frame, while it reloads the same data every
// 100 ms, each answered after 30 ms as over a network. It returns the bytes
// and the number of reloads.
func idleBytes(tb testing.TB, actions []mde.MachineAction, w, h int, idle time.Duration) (int64, int) {
	tb.Helper()
	fake := &fakeService{actions: sameAges(actions)}
	m := New(Options{Service: slowService{fake, 30 * time.Millisecond}, Endpoint: "127.0.0.1:41371", RefreshEvery: 100 * time.Millisecond})
	p := startProgram(tb, m, w, h)
	p.waitFirstFrame()
	// The first frame says "Loading…"; the rows come after the first list
	// (late on a busy machine): wait for a reload after it, then for quiet.
	waitLists(fake, 2)
	before := p.settle(3 * time.Second)
	fake.mu.Lock()
	lists := fake.lists
	fake.mu.Unlock()
	time.Sleep(idle)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	return p.out.count() - before, fake.lists - lists
}

func maxOf(xs []int64) int64 {
	var m int64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func meanOf(xs []int64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s int64
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(len(xs))
}

// ptrs is a list as the UI holds it: pointers to the listed actions.
func ptrs(actions []mde.MachineAction) []*mde.MachineAction {
	out := make([]*mde.MachineAction, len(actions))
	for i := range actions {
		out[i] = &actions[i]
	}
	return out
}
