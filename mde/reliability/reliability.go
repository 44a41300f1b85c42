// Package reliability collects, from the tests themselves, what each fault
// and hostile input did: a test that injected a fault and checked its
// outcome calls Record with what it measured (cancels lost, cancels sent
// twice, the terminal's state). When MDEACTIONS_RELIABILITY names a file,
// each passing test's rows are appended to it as JSON lines; `make
// reliability` runs the tests that way and renders RELIABILITY.md from the
// file (see the reltable command). Without the variable Record does
// nothing but check the row.
package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// EnvVar names the file rows are appended to.
const EnvVar = "MDEACTIONS_RELIABILITY"

// Row is one fault or hostile input and what was observed.
type Row struct {
	Area       string `json:"area"`      // network, API, auth, process, hostile input, secrets
	Fault      string `json:"fault"`     // what was done to the tool
	Outcome    string `json:"outcome"`   // what the tool did, as measured
	Lost       int    `json:"lost"`      // cancels (or comments) lost: asked for but neither done nor reported
	SentTwice  int    `json:"sentTwice"` // cancels the API received more than once
	Terminal   string `json:"terminal"`  // "clean", "no terminal" (a client or file test: none is involved) or what was left
	Test       string `json:"test"`      // the test that measured it
	Package    string `json:"package"`   // the test's package directory
	ordinalKey int
}

var mu sync.Mutex

// Record checks r (a row that lost or double-sent anything, or left the
// terminal unclean, fails the test: such an outcome is a bug, never a row)
// and, when the test passes and EnvVar is set, appends it to the file.
func Record(t testing.TB, r Row) {
	t.Helper()
	if r.Lost != 0 || r.SentTwice != 0 {
		t.Errorf("reliability: %s: %d lost, %d sent twice", r.Fault, r.Lost, r.SentTwice)
	}
	if r.Terminal == "" {
		r.Terminal = "no terminal"
	}
	if r.Terminal != "clean" && r.Terminal != "no terminal" {
		t.Errorf("reliability: %s: terminal %s", r.Fault, r.Terminal)
	}
	r.Test = t.Name()
	if wd, err := os.Getwd(); err == nil {
		r.Package = wd
	}
	path := os.Getenv(EnvVar)
	if path == "" {
		return
	}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Errorf("reliability: %v", err)
			return
		}
		defer f.Close()
		if _, err := f.Write(append(b, '\n')); err != nil {
			t.Errorf("reliability: %v", err)
		}
	})
}

// Read reads the rows a test run appended.
func Read(data []byte) ([]Row, error) {
	var rows []Row
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r Row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		r.ordinalKey = i
		rows = append(rows, r)
	}
	return rows, nil
}

// Areas in the order the table shows them.
var areaOrder = []string{"network", "API", "auth", "process", "terminal", "hostile input", "secrets"}

func areaRank(a string) int {
	for i, x := range areaOrder {
		if x == a {
			return i
		}
	}
	return len(areaOrder)
}

// Table renders rows as a Markdown table, grouped by area, then by
// package and test (so that the table does not change with the order in
// which parallel tests end), then in the order recorded.
func Table(rows []Row, root string) string {
	sort.SliceStable(rows, func(i, j int) bool {
		if a, b := areaRank(rows[i].Area), areaRank(rows[j].Area); a != b {
			return a < b
		}
		if rows[i].Package != rows[j].Package {
			return rows[i].Package < rows[j].Package
		}
		if rows[i].Test != rows[j].Test {
			return rows[i].Test < rows[j].Test
		}
		return rows[i].ordinalKey < rows[j].ordinalKey
	})
	var b strings.Builder
	b.WriteString("| area | fault or hostile input | observed outcome | lost | sent twice | terminal | test |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		pkg := strings.TrimPrefix(strings.TrimPrefix(r.Package, root), "/")
		if pkg == "" {
			pkg = "."
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | `%s` %s |\n", cell(r.Area), cell(r.Fault), cell(r.Outcome),
			r.Lost, r.SentTwice, cell(r.Terminal), cell(pkg), cell(r.Test))
	}
	return b.String()
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
