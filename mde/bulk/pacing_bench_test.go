package bulk_test

// Bulk-cancel pacing at the API's real limits on a simulated clock (issue
// #6): the paced job against a naive client that retries each 429 after
// its Retry-After.

import (
	"context"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/bulk"
	"github.com/mdeactions/mdeactions/mde/pace"
)

// earliestFinish is when the last of n calls can go at the soonest under
// the limits, one after another from t0.
func earliestFinish(limits []pace.Limit, n int) time.Duration {
	var at []time.Duration
	for i := range n {
		t := time.Duration(0)
		if i > 0 {
			t = at[i-1]
		}
		for _, l := range limits {
			if k := i - l.Count; k >= 0 {
				t = max(t, at[k]+l.Window)
			}
		}
		at = append(at, t)
	}
	return at[n-1]
}

func BenchmarkPacing(b *testing.B) {
	const n = 3000
	limits := pace.DefaultLimits() // 100/min, 1,500/h
	bound := earliestFinish(limits, n)
	// bench runs cancel over n actions in a fresh simulator and reports the
	// simulated time it took over the bound and the 429s it drew.
	bench := func(name string, cancel func(b *testing.B, env *simEnv, actions []mde.MachineAction) time.Duration) {
		b.Run(name, func(b *testing.B) {
			var took time.Duration
			var throttled int
			for b.Loop() {
				actions := manyActions(n)
				env := newSimEnvLimits(b, actions, limits)
				took = cancel(b, env, actions)
				throttled = env.srv.Sim.Throttled("cancel")
			}
			b.ReportMetric(100*(took-bound).Seconds()/bound.Seconds(), "%-over-bound")
			b.ReportMetric(float64(throttled), "429s")
			b.ReportMetric(took.Minutes(), "sim-min")
		})
	}
	bench("paced", func(b *testing.B, env *simEnv, actions []mde.MachineAction) time.Duration {
		events := run(b, env.clock, env.client, actions, "contain incident 42", bulk.Options{Budget: env.cancel})
		return events[len(events)-1].At.Sub(t0)
	})
	bench("naive", func(b *testing.B, env *simEnv, actions []mde.MachineAction) time.Duration {
		naive, err := mde.NewClient(env.srv.URL, nil, mde.StaticToken("naive"))
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range actions {
			for {
				_, err := naive.Cancel(context.Background(), a.ID, "contain incident 42")
				ra, is429 := mde.RetryAfter(err)
				if !is429 {
					if err != nil {
						b.Fatal(err)
					}
					break
				}
				env.clock.Advance(ra)
			}
		}
		return env.clock.Now().Sub(t0)
	})
}
