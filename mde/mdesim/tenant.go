package mdesim

// This file generates the simulated tenant: devices and several hundred
// machine actions created over the four days before the start time, each
// with the hidden schedule that moves it along (see lifecycle.go). Every
// random choice comes from one PCG generator seeded with Options.Seed, so
// the same seed and start time give the same tenant, byte for byte.

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

const (
	tenantSpan = 96 * time.Hour // actions are created over the 4 days before start
	// quietPeriod: no scheduled transition falls within this long after start,
	// so that a user (or a terminal test) has time to act on what they see.
	quietPeriod = 120 * time.Second
)

type device struct {
	name    string
	id      string
	offline bool // never picks up actions: its Pending ones time out
}

// Device names that every tenant starts with. The first four carry the
// planted scenarios; the CJK and emoji names are there for width tests.
var fixedDeviceNames = []string{
	"ws-fin-0231.contoso.local",   // two Pending Isolate
	"srv-sql-02.corp.contoso.com", // two Pending RunAntiVirusScan
	"会議室-pc01",                    // Pending LiveResponse plus Pending CollectInvestigationPackage
	"📦-kiosk-03",                  // Pending Isolate
	"LAPTOP-7F3K2Q",
	"Alexs-MacBook-Pro.local",
	"mbp-jchen.contoso.local",
	"ubuntu-build-01.corp.contoso.com",
	"rhel-web-03.corp.contoso.com",
}

// plantedAction is an action every tenant has (when it has room for it):
// open, recent, on an offline device so it stays Pending for the demo.
type plantedAction struct {
	device int
	typ    mde.ActionType
	scope  mde.Scope
}

var plantedActions = []plantedAction{
	{0, mde.TypeIsolate, "Full"},
	{0, mde.TypeIsolate, "Full"},
	{1, mde.TypeRunAntiVirusScan, "Quick"},
	{1, mde.TypeRunAntiVirusScan, "Full"},
	{2, mde.TypeLiveResponse, ""},
	{2, mde.TypeCollectInvestigationPackage, ""},
	{3, mde.TypeIsolate, "Selective"},
}

var (
	departments = []string{"fin", "hr", "eng", "mkt", "ops", "sales", "legal", "it"}
	serverRoles = []string{"sql", "web", "dc", "app", "file", "exch", "print", "ca"}
	users       = []string{
		"alex.morgan@contoso.com", "priya.natarajan@contoso.com", "sam.okafor@contoso.com",
		"jamie.chen@contoso.com", "maria.garcia@contoso.com", "li.wei@contoso.com",
		"tomasz.nowak@contoso.com", "fatima.alsayed@contoso.com",
	}
	soarApp     = "Contoso SOAR"
	isolateApp  = "Sentinel Playbook - Isolate"
	guidApp     = "7c3f2a91-5b4e-4d0a-9e61-2f8b3c1d4a57"
	typeWeights = []struct {
		typ    mde.ActionType
		weight int
	}{
		{mde.TypeIsolate, 18}, {mde.TypeUnisolate, 9}, {mde.TypeRunAntiVirusScan, 20},
		{mde.TypeCollectInvestigationPackage, 10}, {mde.TypeRestrictCodeExecution, 6},
		{mde.TypeUnrestrictCodeExecution, 4}, {mde.TypeStopAndQuarantineFile, 10},
		{mde.TypeOffboard, 4}, {mde.TypeLiveResponse, 19},
	}
	// statusShares are percentages of the randomly generated actions;
	// Pending+InProgress is 38 %, plus the planted open actions.
	statusShares = []struct {
		status mde.ActionStatus
		share  int
	}{
		{mde.StatusPending, 23}, {mde.StatusInProgress, 15}, {mde.StatusFailed, 9},
		{mde.StatusTimeOut, 7}, {mde.StatusCancelled, 7}, {mde.StatusSucceeded, 39},
	}
	comments = map[mde.ActionType][]string{
		mde.TypeIsolate: {
			"Isolate per {ir}: beaconing to {ip}",
			"Containment for {inc}: ransomware note found on mapped share",
			"Suspicious lateral movement (PsExec) from this host; isolating pending triage",
			"Sentinel incident {num}: credential dumping (lsass access) detected",
			"Isolate per {ir}: Cobalt Strike beacon detected",
		},
		mde.TypeUnisolate: {
			"Release from isolation after reimage ({ir})",
			"False positive confirmed by SOC, releasing",
			"Remediation complete per {chg}",
		},
		mde.TypeRunAntiVirusScan: {
			"Full scan after USB malware alert ({inc})",
			"Scan requested by helpdesk ticket {ritm}",
			"Post-remediation scan ({ir})",
			"Scan after phishing attachment was opened ({inc})",
		},
		mde.TypeCollectInvestigationPackage: {
			"Collect forensics for {ir}",
			"Evidence collection for legal hold LH-{num}",
			"Investigation package requested by IR lead ({ir})",
		},
		mde.TypeRestrictCodeExecution: {
			"Restrict app execution: unsigned binaries launching from %TEMP%",
			"Restrict execution while {ir} is investigated",
		},
		mde.TypeUnrestrictCodeExecution: {
			"Lift app restriction after cleanup ({ir})",
			"Restriction no longer needed per {chg}",
		},
		mde.TypeStopAndQuarantineFile: {
			"Quarantine {file} seen in alert {alert}",
			"Stop and quarantine dropper per {ir}",
		},
		mde.TypeOffboard: {
			"Device decommissioned ({chg})",
			"Offboarding for reimage",
			"Duplicate device record; offboarding old sensor",
		},
		mde.TypeLiveResponse: {
			"Collect triage data for {ir}",
			"Run persistence sweep script ({inc})",
			"Fetch suspicious binary for sandbox detonation ({ir})",
		},
	}
	cancelComments = []string{
		"Duplicate request", "Wrong device selected", "Superseded by full isolation",
		"Device offline for days; will reissue", "Issued by mistake", "Ticket closed as false positive",
	}
	suspiciousFiles = []string{"invoice_0423.exe", "update_helper.dll", "svch0st.exe", "Q3-bonus.xlsm", "setup_x64.msi"}
	scriptNames     = []string{"collect-triage.ps1", "Get-Persistence.ps1", "kill-proc.ps1", "collect_logs.sh"}
	scriptArgs      = []string{"-Full", "-Pid 4312", `-OutDir C:\Temp\ir`, ""}
	getFilePaths    = []string{
		`C:\Users\jdoe\Downloads\invoice_0423.exe`, `C:\Windows\Temp\svch0st.exe`,
		`C:\Windows\System32\winevt\Logs\Security.evtx`, "/var/log/auth.log",
	}
	putFileNames = []string{"collect-triage.ps1", "procdump64.exe", "autorunsc64.exe"}
	failureTexts = map[string][]string{
		"RunScript": {"Script execution timed out after 10 minutes", "Script exited with code 1"},
		"GetFile":   {"File not found", "File size exceeds the 3 GB limit"},
		"PutFile":   {"File was not found in the live response library"},
	}
	failureHResults = []int64{-2147024894, -2147024891, -2147467259, -2147023174}
)

type generator struct {
	r     *rand.Rand
	start time.Time
}

// generateTenant builds n actions on nDevices devices as of start; if
// open >= 0, exactly open of them are open at start (the planted ones
// count), else the shares of statusShares decide.
func generateTenant(seed int64, n, nDevices, open int, start time.Time) []*entry {
	g := &generator{
		r:     rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		start: start,
	}
	devices := g.devices(max(nDevices, 1))

	var out []*entry
	for _, p := range plantedActions {
		if len(out) == n {
			return out
		}
		if len(out) == open {
			break
		}
		dev := devices[p.device%len(devices)]
		out = append(out, g.planted(dev, p))
	}

	m := n - len(out)
	statuses := g.statusQuota(m, open-len(out))
	for i := range m {
		typ := g.pickType()
		if i < len(mde.ActionTypes) {
			typ = mde.ActionTypes[i] // every type at least once
		}
		dev := devices[g.r.IntN(len(devices))]
		if i < len(devices) {
			dev = devices[i] // every device at least once
		}
		out = append(out, g.action(dev, typ, statuses[i]))
	}
	return out
}

func (g *generator) devices(n int) []device {
	seen := map[string]bool{}
	var devs []device
	add := func(name string) {
		seen[strings.ToLower(name)] = true
		devs = append(devs, device{name: name, id: g.hex(20), offline: g.r.IntN(100) < 12})
	}
	for _, name := range fixedDeviceNames {
		if len(devs) < n {
			add(name)
		}
	}
	for len(devs) < n {
		name := g.deviceName()
		if !seen[strings.ToLower(name)] {
			add(name)
		}
	}
	// The planted scenarios need their devices to stay offline.
	for i := 0; i < len(devs) && i < 4; i++ {
		devs[i].offline = true
	}
	return devs
}

func (g *generator) deviceName() string {
	switch x := g.r.IntN(100); {
	case x < 40:
		return fmt.Sprintf("ws-%s-%04d.contoso.local", g.pick(departments), g.r.IntN(10000))
	case x < 55:
		return fmt.Sprintf("srv-%s-%02d.corp.contoso.com", g.pick(serverRoles), 1+g.r.IntN(30))
	case x < 75:
		return "LAPTOP-" + g.alnum(6)
	case x < 90:
		return "DESKTOP-" + g.alnum(7)
	case x < 95:
		first, _, _ := strings.Cut(g.pick(users), ".")
		return fmt.Sprintf("mbp-%s%d.contoso.local", first, g.r.IntN(10))
	default:
		return fmt.Sprintf("%s-%s-%02d.corp.contoso.com", g.pick([]string{"ubuntu", "rhel", "debian"}), g.pick(serverRoles), 1+g.r.IntN(20))
	}
}

// statusQuota returns m statuses in the shares of statusShares, shuffled;
// if open >= 0, exactly open of them are Pending or InProgress (in their
// shares) and the others finished (in theirs).
func (g *generator) statusQuota(m, open int) []mde.ActionStatus {
	var out []mde.ActionStatus
	// fill appends n statuses among those keep accepts, in their shares,
	// topped up with fallback.
	fill := func(n int, keep func(mde.ActionStatus) bool, fallback mde.ActionStatus) {
		total, from := 0, len(out)
		for _, s := range statusShares {
			if keep(s.status) {
				total += s.share
			}
		}
		for _, s := range statusShares {
			if keep(s.status) {
				for range n * s.share / total {
					out = append(out, s.status)
				}
			}
		}
		for len(out)-from < n {
			out = append(out, fallback)
		}
	}
	if open < 0 {
		fill(m, func(mde.ActionStatus) bool { return true }, mde.StatusSucceeded)
	} else {
		open = min(open, m)
		fill(open, mde.ActionStatus.Open, mde.StatusPending)
		fill(m-open, func(s mde.ActionStatus) bool { return !s.Open() }, mde.StatusSucceeded)
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:m]
}

func (g *generator) pickType() mde.ActionType {
	total := 0
	for _, t := range typeWeights {
		total += t.weight
	}
	x := g.r.IntN(total)
	for _, t := range typeWeights {
		if x < t.weight {
			return t.typ
		}
		x -= t.weight
	}
	return mde.TypeIsolate
}

// base builds an action as it is when created, without its times: Pending,
// commands Created.
func (g *generator) base(dev device, typ mde.ActionType) mde.MachineAction {
	a := mde.MachineAction{
		ID:               g.guid(),
		Type:             typ,
		Status:           mde.StatusPending,
		MachineID:        dev.id,
		ComputerDNSName:  dev.name,
		RequestSource:    "PublicApi",
		RequestorComment: g.comment(typ),
	}
	if g.r.IntN(100) < 65 {
		a.Requestor = g.pick(users)
		// Live response started from the portal does not show in the API.
		if typ != mde.TypeLiveResponse && g.r.IntN(100) < 35 {
			a.RequestSource = "Portal"
		}
	} else {
		a.Requestor = g.pick([]string{soarApp, guidApp})
		if typ == mde.TypeIsolate && g.r.IntN(2) == 0 {
			a.Requestor = isolateApp
		}
		if a.Requestor == soarApp {
			a.Edit().ExternalID = "soar-" + g.hex(4)
		}
	}
	switch typ {
	case mde.TypeIsolate:
		a.Scope = "Full"
		if g.r.IntN(100) < 20 {
			a.Scope = "Selective"
		}
	case mde.TypeRunAntiVirusScan:
		a.Scope = "Quick"
		if g.r.IntN(100) < 35 {
			a.Scope = "Full"
		}
	case mde.TypeStopAndQuarantineFile:
		a.Edit().RelatedFileInfo = &mde.RelatedFileInfo{FileIdentifier: g.hex(20), FileIdentifierType: "Sha1"}
	case mde.TypeLiveResponse:
		a.Edit().Commands = g.commands()
	}
	return a
}

// stamp sets the creation time of a and makes it the schedule's base. As in
// real responses, lastUpdateDateTimeUtc of a fresh action is a few
// microseconds after creationDateTimeUtc.
func (g *generator) stamp(sc *schedule, a mde.MachineAction, created time.Time) {
	a.CreationDateTimeUtc = mde.Timestamp{Time: created}
	a.LastUpdateDateTimeUtc = mde.Timestamp{Time: created.Add(g.dur(tick, 9*time.Microsecond))}
	sc.base = a
	sc.timeoutAt = created.Add(pendingTimeout)
}

func (g *generator) commands() []mde.LiveResponseCommand {
	n := 1 + g.r.IntN(3)
	cmds := make([]mde.LiveResponseCommand, n)
	for i := range cmds {
		var c mde.Command
		switch x := g.r.IntN(100); {
		case x < 50:
			c.Type = "RunScript"
			c.Params = []mde.CommandParam{{Key: "ScriptName", Value: g.pick(scriptNames)}}
			if args := g.pick(scriptArgs); args != "" {
				c.Params = append(c.Params, mde.CommandParam{Key: "Args", Value: args})
			}
		case x < 85:
			c.Type = "GetFile"
			c.Params = []mde.CommandParam{{Key: "Path", Value: g.pick(getFilePaths)}}
		default:
			c.Type = "PutFile"
			c.Params = []mde.CommandParam{{Key: "FileName", Value: g.pick(putFileNames)}}
		}
		cmds[i] = mde.LiveResponseCommand{Index: i, CommandStatus: "Created", Errors: []string{}, Command: c}
	}
	return cmds
}

// steps returns how long each step of the action runs once picked up: one
// per live response command, else a single step.
func (g *generator) steps(a mde.MachineAction) []time.Duration {
	if a.Type == mde.TypeLiveResponse {
		d := make([]time.Duration, len(a.Commands()))
		for i := range d {
			d[i] = g.dur(15*time.Second, 8*time.Minute)
		}
		return d
	}
	lo, hi := 30*time.Second, 4*time.Minute
	switch a.Type {
	case mde.TypeRunAntiVirusScan:
		lo, hi = 2*time.Minute, 15*time.Minute
		if a.Scope == "Full" {
			lo, hi = 20*time.Minute, 2*time.Hour
		}
	case mde.TypeCollectInvestigationPackage:
		lo, hi = 3*time.Minute, 25*time.Minute
	case mde.TypeOffboard:
		lo, hi = time.Minute, 10*time.Minute
	case mde.TypeStopAndQuarantineFile:
		lo, hi = 20*time.Second, 3*time.Minute
	}
	return []time.Duration{g.dur(lo, hi)}
}

// setOutcome decides how a run that is picked up ends. A failing live
// response stops at a random command at or after index from; the steps
// after it never run.
func (g *generator) setOutcome(sc *schedule, a mde.MachineAction, outcome mde.ActionStatus, steps []time.Duration, from int) []time.Duration {
	sc.outcome = outcome
	if outcome != mde.StatusFailed {
		return steps
	}
	if g.r.IntN(2) == 0 {
		sc.hresult = failureHResults[g.r.IntN(len(failureHResults))]
	}
	if a.Type != mde.TypeLiveResponse {
		return steps
	}
	f := from + g.r.IntN(len(steps)-from)
	sc.failure = g.pick(failureTexts[a.Commands()[f].Command.Type])
	return steps[:f+1]
}

// run places the steps one after another from pickupAt.
func (sc *schedule) run(pickupAt time.Time, steps []time.Duration) {
	sc.pickupAt = pickupAt
	t := pickupAt
	for _, d := range steps {
		t = t.Add(d)
		if sc.base.Type == mde.TypeLiveResponse {
			sc.ends = append(sc.ends, t)
		}
	}
	sc.finishAt = t
}

// historicPickup is how long a finished action waited to be picked up.
func (g *generator) historicPickup() time.Duration {
	if g.r.IntN(100) < 80 {
		return g.dur(5*time.Second, 15*time.Minute)
	}
	return g.dur(15*time.Minute, 36*time.Hour)
}

// futureDelay is how long after start a scheduled transition happens: never
// within the quiet period, a few in the first 10 minutes, the rest over
// the next few hours.
func (g *generator) futureDelay() time.Duration {
	if g.r.IntN(100) < 20 {
		return g.dur(quietPeriod+10*time.Second, 10*time.Minute)
	}
	return g.dur(10*time.Minute, 5*time.Hour)
}

// action generates one action whose status at start is status.
func (g *generator) action(dev device, typ mde.ActionType, status mde.ActionStatus) *entry {
	a := g.base(dev, typ)
	steps := g.steps(a)
	sc := &schedule{}

	switch status {
	case mde.StatusSucceeded, mde.StatusFailed:
		steps = g.setOutcome(sc, a, status, steps, 0)
		pickup := g.historicPickup()
		created := g.start.Add(-g.dur(pickup+sum(steps)+time.Minute, tenantSpan))
		g.stamp(sc, a, created)
		sc.run(created.Add(pickup), steps)
		return &entry{action: sc.stateAt(g.start)}

	case mde.StatusTimeOut:
		created := g.start.Add(-g.dur(pendingTimeout+time.Minute, tenantSpan))
		g.stamp(sc, a, created)
		return &entry{action: sc.stateAt(g.start)}

	case mde.StatusCancelled:
		g.setOutcome(sc, a, mde.StatusSucceeded, steps, 0)
		var created, cancelAt time.Time
		if g.r.IntN(100) < 40 {
			// Cancelled while still Pending.
			cancelAfter := g.dur(time.Minute, 48*time.Hour)
			created = g.start.Add(-g.dur(cancelAfter+time.Minute, tenantSpan))
			cancelAt = created.Add(cancelAfter)
			g.stamp(sc, a, created)
		} else {
			// Cancelled while InProgress: a live response may have
			// completed commands already (the known race).
			pickup := g.historicPickup()
			cancelAfter := pickup + g.dur(tick, sum(steps)-tick)
			created = g.start.Add(-g.dur(pickup+sum(steps)+time.Minute, tenantSpan))
			cancelAt = created.Add(cancelAfter)
			g.stamp(sc, a, created)
			sc.run(created.Add(pickup), steps)
		}
		c := sc.stateAt(cancelAt)
		c.Status = mde.StatusCancelled
		c.Edit().CancellationRequestor = g.pick(users)
		c.Edit().CancellationComment = g.pick(cancelComments)
		c.Edit().CancellationDateTimeUtc = mde.Timestamp{Time: cancelAt}
		c.LastUpdateDateTimeUtc = mde.Timestamp{Time: cancelAt}
		return &entry{action: c}

	case mde.StatusPending:
		created := g.start.Add(-g.dur(time.Minute, pendingTimeout-time.Hour))
		g.stamp(sc, a, created)
		steps = g.setOutcome(sc, a, g.futureOutcome(), steps, 0)
		// Offline devices, and a few others, never pick the action up: it
		// times out three days after creation.
		if !dev.offline && g.r.IntN(100) >= 12 {
			sc.run(g.start.Add(g.futureDelay()), steps)
		}
		return g.open(sc)

	default: // InProgress
		age := g.dur(2*time.Minute, 12*time.Hour)
		created := g.start.Add(-age)
		g.stamp(sc, a, created)
		pickupAt := created.Add(g.dur(5*time.Second, min(age-time.Minute, 20*time.Minute)))
		// The first done live response commands ended before start, evenly
		// spread; the next one ends after the quiet period.
		done := 0
		if len(steps) > 1 {
			done = g.r.IntN(len(steps))
		}
		steps = g.setOutcome(sc, a, g.futureOutcome(), steps, done)
		each := (g.start.Sub(pickupAt) / time.Duration(done+1)).Truncate(tick)
		for i := range done {
			steps[i] = each
		}
		steps[done] = g.start.Add(g.futureDelay()).Sub(pickupAt.Add(each * time.Duration(done)))
		sc.run(pickupAt, steps)
		return g.open(sc)
	}
}

// futureOutcome is how an action still open at start will end.
func (g *generator) futureOutcome() mde.ActionStatus {
	if g.r.IntN(100) < 15 {
		return mde.StatusFailed
	}
	return mde.StatusSucceeded
}

// planted generates one of the planted open actions: recent, Pending, on
// an offline device, so it only times out three days after creation.
func (g *generator) planted(dev device, p plantedAction) *entry {
	a := g.base(dev, p.typ)
	if p.scope != "" {
		a.Scope = p.scope
	}
	sc := &schedule{outcome: mde.StatusSucceeded}
	g.stamp(sc, a, g.start.Add(-g.dur(5*time.Minute, 6*time.Hour)))
	return g.open(sc)
}

// open returns the entry of an action that is still open at start.
func (g *generator) open(sc *schedule) *entry {
	return &entry{action: sc.stateAt(g.start), sched: sc, next: sc.nextAfter(g.start)}
}

// Random helpers. All of them draw from g.r only.

func (g *generator) pick(list []string) string { return list[g.r.IntN(len(list))] }

// dur returns a random duration in [lo, hi] at the API's 100 ns resolution.
func (g *generator) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.r.Int64N(int64((hi-lo)/tick)+1))*tick
}

func (g *generator) hex(nBytes int) string {
	b := make([]byte, nBytes)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return hex.EncodeToString(b)
}

func (g *generator) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return formatGUID(b)
}

func (g *generator) alnum(n int) string {
	const chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[g.r.IntN(len(chars))]
	}
	return string(b)
}

// comment fills a requestor comment template for the type.
func (g *generator) comment(typ mde.ActionType) string {
	s := g.pick(comments[typ])
	fill := []struct {
		placeholder string
		value       func() string
	}{
		{"{ir}", func() string { return fmt.Sprintf("IR-%d", 1000+g.r.IntN(9000)) }},
		{"{ip}", func() string {
			return fmt.Sprintf("185.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
		}},
		{"{inc}", func() string { return fmt.Sprintf("INC%07d", g.r.IntN(10000000)) }},
		{"{chg}", func() string { return fmt.Sprintf("CHG%07d", g.r.IntN(10000000)) }},
		{"{ritm}", func() string { return fmt.Sprintf("RITM%07d", g.r.IntN(10000000)) }},
		{"{num}", func() string { return fmt.Sprintf("%d", 10000+g.r.IntN(90000)) }},
		{"{file}", func() string { return g.pick(suspiciousFiles) }},
		{"{alert}", func() string { return fmt.Sprintf("da%018d_%d", g.r.Int64N(1e18), g.r.Int32()) }},
	}
	for _, f := range fill {
		//lint:ignore S1017 value() draws from the seeded generator: only when used, or every tenant changes
		if strings.Contains(s, f.placeholder) {
			s = strings.Replace(s, f.placeholder, f.value(), 1)
		}
	}
	return s
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}
