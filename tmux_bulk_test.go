package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/mde/mdesim"
)

// hit is one request the simulator answered.
type hit struct {
	method, path string
	status       int
	retryAfter   time.Duration
	at           time.Time
}

// recordingServer serves a simulator on loopback and records every answer.
type recordingServer struct {
	*httptest.Server
	sim  *mdesim.Simulator
	mu   sync.Mutex
	hits []hit
}

func startRecordingSim(t *testing.T, limits []mdesim.Limit) *recordingServer {
	t.Helper()
	rs := &recordingServer{sim: mdesim.New(mdesim.Options{Seed: 1, Limits: limits})}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		rs.sim.ServeHTTP(rec, r)
		ra, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
		rs.mu.Lock()
		rs.hits = append(rs.hits, hit{r.Method, r.URL.Path, rec.Code, time.Duration(ra) * time.Second, time.Now()})
		rs.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(rs.Close)
	return rs
}

// cancels returns the answered cancel requests in order.
func (rs *recordingServer) cancels() []hit {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []hit
	for _, h := range rs.hits {
		if h.method == http.MethodPost && strings.HasSuffix(h.path, "/cancel") {
			out = append(out, h)
		}
	}
	return out
}

// TestTmuxBulkCancelPaced marks every open action in a real terminal and
// bulk-cancels them with the API's limits scaled down in time on both
// sides (100 per 2 s, 1,500 per 30 s). Alone, the tool never draws a 429;
// when another client spends the budget first, the tool waits exactly the
// Retry-After it is given, and in both cases every action ends Cancelled
// and none is cancelled twice.
func TestTmuxBulkCancelPaced(t *testing.T) {
	if testing.Short() {
		t.Skip("real-terminal test")
	}
	bin := buildBinary(t)
	limits := []mdesim.Limit{{Count: 100, Window: 2 * time.Second}, {Count: 1500, Window: 30 * time.Second}}
	for _, busy := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "another client spends the budget"}[busy], func(t *testing.T) {
			rs := startRecordingSim(t, limits)
			var open []string
			for _, a := range rs.sim.Actions() {
				if a.Status.Open() {
					open = append(open, a.ID)
				}
			}
			if len(open) < 150 {
				t.Fatalf("the simulated tenant has %d open actions, want at least 150", len(open))
			}
			s := newTmux(t)
			s.text(fmt.Sprintf("T=test-token %s --api-url %s --token-env T --rate-limits 100/2s,1500/30s --refresh 0", bin, rs.URL))
			s.keys("Enter")
			s.waitFor("the list", 20*time.Second, func(sc string) bool { return cursorLine(sc) != "" })
			s.keys("a")
			marked := regexp.MustCompile(`· (\d+) marked`)
			screen := s.waitFor("the marks", 5*time.Second, func(sc string) bool { return marked.MatchString(sc) })
			n, _ := strconv.Atoi(marked.FindStringSubmatch(screen)[1])
			if n != len(open) {
				t.Fatalf("%d marked, want all %d open actions", n, len(open))
			}
			s.keys("c")
			s.waitFor("the comment prompt", 5*time.Second, func(sc string) bool { return strings.Contains(sc, "Comment (required") })
			s.text("bulk e2e: playbook isolated the wrong group")
			s.keys("Enter")
			s.waitFor("the typed confirmation", 5*time.Second, func(sc string) bool { return strings.Contains(sc, "Type "+strconv.Itoa(n)) })

			if busy {
				// Another client of the same app and tenant spends 60 of the
				// 100 cancels allowed per 2 s just before the tool starts.
				client := &http.Client{Timeout: 5 * time.Second}
				for i := 0; i < 60; i++ {
					req, _ := http.NewRequest(http.MethodPost, rs.URL+"/api/machineactions/00000000-0000-4000-8000-000000000000/cancel", strings.NewReader(`{"Comment":"x"}`))
					req.Header.Set("Authorization", "Bearer other")
					resp, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
			}
			start := time.Now()
			s.text(strconv.Itoa(n))
			s.keys("Enter")
			done := s.waitFor("the end of the bulk cancel", 60*time.Second, func(sc string) bool {
				return strings.Contains(strings.Join(strings.Fields(sc), " "), "Bulk cancel finished:")
			})
			if !strings.Contains(strings.Join(strings.Fields(done), " "), fmt.Sprintf("Bulk cancel finished: %d cancelled", n)) {
				t.Fatalf("not every action was cancelled:\n%s", done)
			}
			elapsed := time.Since(start)

			// Every open action is Cancelled, once.
			for _, id := range open {
				if a, _ := rs.sim.Action(id); a.Status != mde.StatusCancelled {
					t.Fatalf("action %s is %s", id, a.Status)
				}
			}
			ok, throttled, other := 0, 0, 0
			var cancels = rs.cancels()
			for _, h := range cancels {
				switch {
				case strings.Contains(h.path, "00000000-0000-4000-8000-000000000000"):
				case h.status == http.StatusOK:
					ok++
				case h.status == http.StatusTooManyRequests:
					throttled++
				default:
					other++
				}
			}
			if ok != n || other != 0 {
				t.Fatalf("%d successful cancels and %d other answers, want %d and 0 (nothing cancelled twice)", ok, other, n)
			}
			if !busy {
				if throttled != 0 {
					t.Fatalf("%d answers 429 while the tool was alone, want 0", throttled)
				}
				t.Logf("alone: %d cancels in %s, %d answers 429", n, elapsed.Round(10*time.Millisecond), throttled)
				// 100 at once, the rest 2 s later: paced at the limit, not slower.
				if elapsed > 8*time.Second {
					t.Fatalf("%d cancels took %s under 100 per 2 s", n, elapsed)
				}
			} else {
				if throttled == 0 {
					t.Fatal("the other client's spending drew no 429: the test did not test the wait")
				}
				// After each 429, the tool's next cancel goes exactly at
				// Retry-After: not sooner, and not much later.
				for i, h := range cancels {
					if h.status != http.StatusTooManyRequests || strings.Contains(h.path, "00000000-0000") {
						continue
					}
					if i+1 >= len(cancels) {
						t.Fatal("no cancel after a 429")
					}
					gap := cancels[i+1].at.Sub(h.at)
					t.Logf("busy: 429 with Retry-After %s; next cancel %s later", h.retryAfter, gap.Round(time.Millisecond))
					if gap < h.retryAfter-50*time.Millisecond || gap > h.retryAfter+time.Second {
						t.Fatalf("next cancel %s after a 429 with Retry-After %s", gap, h.retryAfter)
					}
				}
			}
			s.keys("q")
			s.waitFor("the shell prompt", 10*time.Second, func(sc string) bool {
				return strings.HasSuffix(strings.TrimRight(sc, "\n "), "PROMPT$")
			})
		})
	}
}
