package filter

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mdeactions/mdeactions/mde"
	"github.com/mdeactions/mdeactions/ui/actiontable"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	machineA = "1e5c0f3b9a7d4c2e8f6a0b1c2d3e4f5a6b7c8d9e"
	machineB = "ffffffffffffffffffffffffffffffffffffffff"
)

// row is a compact way to write a test row.
type row struct {
	id, typ, status, dns, machine, requestor, comment string
	age                                               time.Duration // created this long before now; 0: no time
	tenant                                            string        // the profile shown in the TENANT column
}

func (r row) build() actiontable.Row {
	a := mde.MachineAction{
		ID:               r.id,
		Type:             mde.ActionType(r.typ),
		Status:           mde.ActionStatus(r.status),
		ComputerDNSName:  r.dns,
		MachineID:        r.machine,
		Requestor:        r.requestor,
		RequestorComment: r.comment,
	}
	if r.age != 0 {
		a.CreationDateTimeUtc = mde.Timestamp{Time: now.Add(-r.age)}
	}
	row := actiontable.NewRow(a)
	row.Tenant = r.tenant
	return row
}

func buildRows(rs ...row) []actiontable.Row {
	out := make([]actiontable.Row, len(rs))
	for i, r := range rs {
		out[i] = r.build()
	}
	return out
}

func ids(rows []actiontable.Row, idx []int) []string {
	out := make([]string, len(idx))
	for i, k := range idx {
		out[i] = rows[k].Action.ID
	}
	return out
}

// makeRows builds n realistic rows, the same for a given seed.
func makeRows(n int, seed uint64) []actiontable.Row {
	rnd := rand.New(rand.NewPCG(seed, 1))
	depts := []string{"fin", "hr", "eng", "ops", "sales", "legal", "東京", "münchen"}
	people := []string{"alex@contoso.com", "Sam.Jones@contoso.com", "Customer App", "soc-automation", "Zoë@contoso.com"}
	comments := []string{
		"Isolating after alert 4242: suspicious PowerShell",
		"AV scan requested by the SOC during triage",
		"collect package for IR case 2026-117",
		"調査のため隔離",
		"",
		"Restrict app execution until the ticket is closed",
	}
	statuses := []mde.ActionStatus{mde.StatusPending, mde.StatusPending, mde.StatusInProgress, mde.StatusSucceeded, mde.StatusCancelled, "Queued"}
	rows := make([]actiontable.Row, n)
	for i := range rows {
		a := mde.MachineAction{
			ID:               fmt.Sprintf("%08x-7e1f-4b1c-9a53-%012x", rnd.Uint32(), i),
			Type:             mde.ActionTypes[rnd.IntN(len(mde.ActionTypes))],
			Status:           statuses[rnd.IntN(len(statuses))],
			ComputerDNSName:  fmt.Sprintf("ws-%s-%04d.corp.contoso.com", depts[rnd.IntN(len(depts))], rnd.IntN(10000)),
			MachineID:        fmt.Sprintf("%040x", rnd.Uint64()),
			Requestor:        people[rnd.IntN(len(people))],
			RequestorComment: comments[rnd.IntN(len(comments))],
		}
		if rnd.IntN(50) != 0 {
			a.CreationDateTimeUtc = mde.Timestamp{Time: now.Add(-time.Duration(rnd.IntN(30*24*3600)) * time.Second)}
		}
		rows[i] = actiontable.NewRow(a)
	}
	return rows
}
