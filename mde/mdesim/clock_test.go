package mdesim

import (
	"testing"
	"time"
)

func TestScaledClock(t *testing.T) {
	stopped := NewScaledClock(0)
	t0 := stopped.Now()
	fast := NewScaledClock(1000)
	f0 := fast.Now()
	time.Sleep(20 * time.Millisecond)
	if !stopped.Now().Equal(t0) {
		t.Fatal("a clock at speed 0 moved")
	}
	// 20 ms of real time at 1000x is at least 20 s of simulated time.
	if d := fast.Now().Sub(f0); d < 20*time.Second {
		t.Fatalf("at speed 1000, 20 ms of real time gave %s", d)
	}
}
