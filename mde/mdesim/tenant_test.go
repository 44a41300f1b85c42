package mdesim

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/mdeactions/mdeactions/mde"
)

func TestDeterminism(t *testing.T) {
	body := func(seed int64) string {
		s, _ := newTestSim(t, Options{Seed: seed})
		return do(t, s, http.MethodGet, "/api/machineactions", "").Body.String()
	}
	a, b := body(99), body(99)
	if a != b {
		t.Error("same seed gave different tenants")
	}
	if c := body(100); c == a {
		t.Error("different seeds gave the same tenant")
	}
	// Error targets (crypto/rand) do not disturb the tenant.
	s1, _ := newTestSim(t, Options{Seed: 99})
	do(t, s1, http.MethodGet, "/api/machineactions/unknown", "")
	s2, _ := newTestSim(t, Options{Seed: 99})
	if string(mustJSON(t, s1.Actions())) != string(mustJSON(t, s2.Actions())) {
		t.Error("tenants differ after an error response")
	}
}

func TestTenantComposition(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 12345} {
		s, _ := newTestSim(t, Options{Seed: seed})
		checkComposition(t, seed, s.Actions())
	}
}

func checkComposition(t *testing.T, seed int64, actions []mde.MachineAction) {
	t.Helper()
	hexRE := regexp.MustCompile(`^[0-9a-f]{40}$`)
	types := map[mde.ActionType]int{}
	statuses := map[mde.ActionStatus]int{}
	devices := map[string]string{}
	sources := map[mde.RequestSource]int{}
	open, failedWithHResult := 0, 0
	requestors := map[string]bool{}
	// device -> type -> pending count; device -> has pending LR / other pending
	pendingByDevice := map[string]map[mde.ActionType]int{}

	for _, a := range actions {
		types[a.Type]++
		statuses[a.Status]++
		sources[a.RequestSource]++
		requestors[a.Requestor] = true
		if !guidRE.MatchString(a.ID) {
			t.Errorf("seed %d: id %q is not a lower-case GUID", seed, a.ID)
		}
		if !hexRE.MatchString(a.MachineID) {
			t.Errorf("seed %d: machineId %q", seed, a.MachineID)
		}
		if name, ok := devices[a.MachineID]; ok && name != a.ComputerDNSName {
			t.Errorf("seed %d: machine %s has names %q and %q", seed, a.MachineID, name, a.ComputerDNSName)
		}
		devices[a.MachineID] = a.ComputerDNSName
		age := testStart.Sub(a.CreationDateTimeUtc.Time)
		if age <= 0 || age > 96*time.Hour {
			t.Errorf("seed %d: created %v before start", seed, age)
		}
		if a.LastUpdateDateTimeUtc.Before(a.CreationDateTimeUtc.Time) || a.LastUpdateDateTimeUtc.After(testStart) {
			t.Errorf("seed %d: %s last update %v outside [creation, start]", seed, a.ID, a.LastUpdateDateTimeUtc)
		}
		if a.Requestor == "" || a.RequestorComment == "" || a.RequestSource == "" {
			t.Errorf("seed %d: %s lacks requestor/comment/source", seed, a.ID)
		}
		if strings.ContainsAny(a.RequestorComment, "{}") {
			t.Errorf("seed %d: unfilled comment %q", seed, a.RequestorComment)
		}

		// Scope by type.
		switch a.Type {
		case mde.TypeIsolate:
			if a.Scope != "Full" && a.Scope != "Selective" {
				t.Errorf("seed %d: Isolate scope %q", seed, a.Scope)
			}
		case mde.TypeRunAntiVirusScan:
			if a.Scope != "Quick" && a.Scope != "Full" {
				t.Errorf("seed %d: scan scope %q", seed, a.Scope)
			}
		default:
			if a.Scope != "" {
				t.Errorf("seed %d: %s has scope %q", seed, a.Type, a.Scope)
			}
		}
		if (a.Type == mde.TypeStopAndQuarantineFile) != (a.RelatedFileInfo() != nil) {
			t.Errorf("seed %d: %s relatedFileInfo %v", seed, a.Type, a.RelatedFileInfo())
		} else if a.RelatedFileInfo() != nil && (a.RelatedFileInfo().FileIdentifierType != "Sha1" || !hexRE.MatchString(a.RelatedFileInfo().FileIdentifier)) {
			t.Errorf("seed %d: relatedFileInfo %+v", seed, a.RelatedFileInfo())
		}
		if (a.Type == mde.TypeLiveResponse) != (len(a.Commands()) > 0) {
			t.Errorf("seed %d: %s has %d commands", seed, a.Type, len(a.Commands()))
		}
		if a.Type == mde.TypeLiveResponse {
			checkCommands(t, a)
		}

		// Cancellation fields only on Cancelled.
		cancelled := a.CancellationRequestor() != "" && a.CancellationComment() != "" && !a.CancellationDateTimeUtc().IsZero()
		none := a.CancellationRequestor() == "" && a.CancellationComment() == "" && a.CancellationDateTimeUtc().IsZero()
		if a.Status == mde.StatusCancelled && !cancelled || a.Status != mde.StatusCancelled && !none {
			t.Errorf("seed %d: %s %s cancellation fields %q %q %v", seed, a.ID, a.Status, a.CancellationRequestor(), a.CancellationComment(), a.CancellationDateTimeUtc())
		}
		if a.Status == mde.StatusCancelled && !a.LastUpdateDateTimeUtc.Equal(a.CancellationDateTimeUtc().Time) {
			t.Errorf("seed %d: cancelled %s last update %v != cancellation %v", seed, a.ID, a.LastUpdateDateTimeUtc, a.CancellationDateTimeUtc())
		}
		if a.ErrorHResult() != 0 && a.Status != mde.StatusFailed {
			t.Errorf("seed %d: %s errorHResult %d", seed, a.Status, a.ErrorHResult())
		}
		if a.Status == mde.StatusFailed && a.ErrorHResult() != 0 {
			failedWithHResult++
		}
		if a.Status == mde.StatusTimeOut && age < 72*time.Hour {
			t.Errorf("seed %d: TimeOut after only %v", seed, age)
		}
		if a.Status.Open() {
			open++
		}
		if a.Status == mde.StatusPending {
			if pendingByDevice[a.MachineID] == nil {
				pendingByDevice[a.MachineID] = map[mde.ActionType]int{}
			}
			pendingByDevice[a.MachineID][a.Type]++
		}
	}

	if len(types) != 9 {
		t.Errorf("seed %d: %d types: %v", seed, len(types), types)
	}
	for _, st := range []mde.ActionStatus{mde.StatusPending, mde.StatusInProgress, mde.StatusSucceeded, mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled} {
		if statuses[st] == 0 {
			t.Errorf("seed %d: no %s action", seed, st)
		}
	}
	if share := float64(open) / float64(len(actions)); share < 0.35 || share > 0.45 {
		t.Errorf("seed %d: %.0f%% open (%d)", seed, share*100, open)
	}
	if len(devices) < 75 || len(devices) > 80 {
		t.Errorf("seed %d: %d devices", seed, len(devices))
	}
	if failedWithHResult == 0 || failedWithHResult == statuses[mde.StatusFailed] {
		t.Errorf("seed %d: %d of %d Failed have a non-zero errorHResult", seed, failedWithHResult, statuses[mde.StatusFailed])
	}
	if sources["Portal"] == 0 || sources["PublicApi"] <= sources["Portal"] {
		t.Errorf("seed %d: request sources %v", seed, sources)
	}
	for _, r := range []string{"Contoso SOAR", "Sentinel Playbook - Isolate"} {
		if !requestors[r] {
			t.Errorf("seed %d: requestor %q missing", seed, r)
		}
	}

	// Planted scenarios and special names.
	byName := map[string]string{}
	for id, name := range devices {
		byName[name] = id
	}
	for _, name := range []string{"会議室-pc01", "📦-kiosk-03", "LAPTOP-7F3K2Q", "Alexs-MacBook-Pro.local", "ubuntu-build-01.corp.contoso.com"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("seed %d: device %q missing", seed, name)
		}
	}
	wide := false
	for name := range byName {
		for _, r := range name {
			if unicode.Is(unicode.Han, r) || r >= 0x1F300 {
				wide = true
			}
		}
	}
	if !wide {
		t.Errorf("seed %d: no device name with wide characters", seed)
	}
	dupIsolate, dupScan, lrPlus := 0, 0, 0
	for _, byType := range pendingByDevice {
		if byType[mde.TypeIsolate] >= 2 {
			dupIsolate++
		}
		if byType[mde.TypeRunAntiVirusScan] >= 2 {
			dupScan++
		}
		total := 0
		for _, n := range byType {
			total += n
		}
		if byType[mde.TypeLiveResponse] >= 1 && total >= 2 {
			lrPlus++
		}
	}
	if dupIsolate == 0 || dupScan == 0 || lrPlus == 0 {
		t.Errorf("seed %d: devices with 2 Pending Isolate %d, 2 Pending scans %d, Pending LR plus another %d", seed, dupIsolate, dupScan, lrPlus)
	}
}

// checkCommands checks that commandStatus agrees with the action status.
func checkCommands(t *testing.T, a mde.MachineAction) {
	t.Helper()
	count := map[string]int{}
	for i, c := range a.Commands() {
		count[c.CommandStatus]++
		if c.Index != i || c.Errors == nil || len(c.Command.Params) == 0 {
			t.Errorf("%s: command %d %+v", a.ID, i, c)
		}
		switch c.Command.Type {
		case "RunScript":
			if c.Command.Params[0].Key != "ScriptName" {
				t.Errorf("%s: RunScript params %+v", a.ID, c.Command.Params)
			}
		case "GetFile":
			if c.Command.Params[0].Key != "Path" {
				t.Errorf("%s: GetFile params %+v", a.ID, c.Command.Params)
			}
		case "PutFile":
			if c.Command.Params[0].Key != "FileName" {
				t.Errorf("%s: PutFile params %+v", a.ID, c.Command.Params)
			}
		default:
			t.Errorf("%s: command type %q", a.ID, c.Command.Type)
		}
		if (c.CommandStatus == "Failed") != (len(c.Errors) > 0) {
			t.Errorf("%s: %s command with errors %v", a.ID, c.CommandStatus, c.Errors)
		}
		if c.CommandStatus == "Completed" && (c.StartTime.IsZero() || c.EndTime.Before(c.StartTime.Time)) {
			t.Errorf("%s: completed command times %v..%v", a.ID, c.StartTime, c.EndTime)
		}
	}
	n := len(a.Commands())
	switch a.Status {
	case mde.StatusPending, mde.StatusTimeOut:
		if count["Created"] != n {
			t.Errorf("%s %s: commands %v", a.ID, a.Status, count)
		}
	case mde.StatusInProgress:
		if count["Executing"] != 1 || count["Failed"] != 0 {
			t.Errorf("%s InProgress: commands %v", a.ID, count)
		}
	case mde.StatusSucceeded:
		if count["Completed"] != n {
			t.Errorf("%s Succeeded: commands %v", a.ID, count)
		}
	case mde.StatusFailed:
		if count["Failed"] != 1 {
			t.Errorf("%s Failed: commands %v", a.ID, count)
		}
	}
}

func TestTimestampsHaveUpTo7Digits(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 50})
	body := do(t, s, http.MethodGet, "/api/machineactions", "").Body.String()
	anyTime := regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]*"`)
	good := regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z"$`)
	seven := 0
	all := anyTime.FindAllString(body, -1)
	for _, ts := range all {
		if !good.MatchString(ts) {
			t.Errorf("timestamp %s: want UTC, up to 7 fractional digits, no trailing zeros", ts)
		}
		if len(ts) == len(`"2025-03-14T09:30:00.1234567Z"`) {
			seven++
		}
	}
	if len(all) < 800 || seven < len(all)/2 {
		t.Errorf("%d timestamps, %d with 7 digits", len(all), seven)
	}
}

func TestLargeTenant(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 60, Actions: 25000, PageSize: 5000})
	actions := s.Actions()
	if len(actions) != 25000 {
		t.Fatalf("%d actions", len(actions))
	}
	seen := map[string]bool{}
	for _, a := range actions {
		if seen[a.ID] {
			t.Fatalf("duplicate id %s", a.ID)
		}
		seen[a.ID] = true
	}
	b := list(t, s, "/api/machineactions?$top=100&$skip=24950&$count=true")
	if len(b.Value) != 50 || *b.Count != 25000 || b.Value[49].ID != actions[24999].ID {
		t.Errorf("last page: %d rows, count %d", len(b.Value), *b.Count)
	}
	b = list(t, s, "/api/machineactions?$top=5000&$skip=3&$orderby=computerDnsName&$filter=status+in+('Pending','InProgress')&$count=true")
	if len(b.Value) != 5000 || *b.Count < 8750 || *b.Count > 11250 {
		t.Errorf("filtered page: %d rows of %d", len(b.Value), *b.Count)
	}
	b = list(t, s, "/api/machineactions")
	if len(b.Value) != 5000 || !strings.HasSuffix(b.NextLink, "$skip=5000") {
		t.Errorf("first page: %d rows, nextLink %q", len(b.Value), b.NextLink)
	}
}

func TestSmallAndEmptyTenants(t *testing.T) {
	s, _ := newTestSim(t, Options{Seed: 1, Actions: -1})
	if b := list(t, s, "/api/machineactions?$count=true"); len(b.Value) != 0 || *b.Count != 0 {
		t.Errorf("empty tenant: %d rows", len(b.Value))
	}
	for _, n := range []int{1, 5, 12} {
		s, _ := newTestSim(t, Options{Seed: 1, Actions: n, Devices: 3})
		if got := len(s.Actions()); got != n {
			t.Errorf("Actions: %d gave %d", n, got)
		}
	}
}
