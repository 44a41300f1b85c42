package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/reliability"
)

// TestSettleRecordsCancelsInFlight: a cancel still waiting for its answer
// when the tool stops gets an outcome line saying so; one that answers
// within the wait gets its real outcome, once.
func TestSettleRecordsCancelsInFlight(t *testing.T) {
	l, path := openTemp(t)
	release := make(chan struct{})
	hung := &fakeSvc{answer: func(id, comment string) (mde.MachineAction, error) {
		if id == "slow" {
			<-release
			return mde.MachineAction{ID: id, Status: mde.StatusCancelled}, nil
		}
		select {} // never answers
	}}
	w := Wrap(hung, l, Context{Tenant: "t", Actor: "me"}, nil)
	go func() { _, _ = w.Cancel(context.Background(), "slow", "answers late") }()
	go func() { _, _ = w.Cancel(context.Background(), "lost", "never answers") }()
	for l.InFlight() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	n, err := l.Settle(500 * time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("Settle = %d, %v; want 1 recorded as unknown", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string][]Record{}
	intents := 0
	for _, r := range readRecords(t, path) {
		if r.Event == EventIntent {
			intents++
			continue
		}
		outcomes[r.ActionID] = append(outcomes[r.ActionID], r)
	}
	if intents != 2 || len(outcomes["slow"]) != 1 || len(outcomes["lost"]) != 1 {
		t.Fatalf("want 2 intents and one outcome each, got %d intents, %v", intents, outcomes)
	}
	if r := outcomes["slow"][0]; r.Result != ResultCancelled {
		t.Fatalf("the cancel answered within the wait: %+v", r)
	}
	r := outcomes["lost"][0]
	if r.Result != ResultUnknown || r.Error != ErrStoppedBeforeAnswer.Error() || r.Comment != "never answers" || r.Actor != "me" {
		t.Fatalf("the unanswered cancel: %+v", r)
	}
	reliability.Record(t, reliability.Row{Area: "process", Fault: "the tool stops while two cancels wait for their answer",
		Outcome: "the one answered within the wait is recorded as it ended; the other gets an outcome `unknown` (stopped before the answer) with its comment: no intent without an outcome"})
}

func TestSettleOnNilLog(t *testing.T) {
	var l *Log
	if n, err := l.Settle(time.Millisecond); n != 0 || err != nil || l.InFlight() != 0 {
		t.Fatal("a nil log has nothing in flight")
	}
}

// A second ctrl+c while the tool waits for answers at exit (hurry) stops
// the wait at once and still records the cancel as unknown.
func TestShutdownInAHurryStillRecords(t *testing.T) {
	l, path := openTemp(t)
	hung := &fakeSvc{answer: func(string, string) (mde.MachineAction, error) { select {} }}
	w := Wrap(hung, l, Context{Tenant: "t", Actor: "me"}, nil)
	go func() { _, _ = w.Cancel(context.Background(), "lost", "never answers") }()
	for l.InFlight() < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	hurry := make(chan struct{})
	time.AfterFunc(30*time.Millisecond, func() { close(hurry) })
	var out strings.Builder
	start := time.Now()
	Shutdown(l, time.Minute, hurry, &out)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the hurry did not cut the minute's wait short (%s)", took)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var unknown int
	for _, r := range readRecords(t, path) {
		if r.Event == EventOutcome && r.Result == ResultUnknown && r.Comment == "never answers" {
			unknown++
		}
	}
	if unknown != 1 || !strings.Contains(out.String(), "recorded as unknown") {
		t.Fatalf("%d unknown outcomes; told: %q", unknown, out.String())
	}
	reliability.Record(t, reliability.Row{Area: "process", Fault: "a second ctrl+c (or SIGTERM) while the tool waits at exit for a cancel's answer",
		Outcome: "the wait stops at once; the cancel is recorded as unknown with its comment, and the user is told where"})
}
