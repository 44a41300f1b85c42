package mdesim

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/mdeactions/mdeactions/mde"
)

// The timeout the docs give for isolation and live response: an action the
// device never picks up is given up after three days (reference §6.1). The
// simulator applies it to every type and reports TimeOut.
const pendingTimeout = 72 * time.Hour

// schedule is the hidden future of a generated action. The action's state
// at any instant is a pure function of the schedule (see stateAt), which
// keeps the lifecycle easy to reason about: Pending until pickupAt (or
// TimeOut at timeoutAt if it never comes), then InProgress, with live
// response commands ending one after another at ends[i], then the outcome
// at finishAt.
type schedule struct {
	base      mde.MachineAction // the action as created: Pending, commands Created
	pickupAt  time.Time         // zero: never picked up (device offline)
	timeoutAt time.Time         // Pending -> TimeOut, if not picked up before
	ends      []time.Time       // LiveResponse: when command i ends; the last one ends at finishAt
	finishAt  time.Time
	outcome   mde.ActionStatus // Succeeded or Failed
	hresult   int64            // errorHResult when Failed
	failure   string           // error text of the failing command (LiveResponse, Failed)
}

// pickedUp reports whether the device ever picks the action up.
func (s *schedule) pickedUp() bool {
	return !s.pickupAt.IsZero() && s.pickupAt.Before(s.timeoutAt)
}

// stateAt returns the action as it is at now.
func (s *schedule) stateAt(now time.Time) mde.MachineAction {
	a := cloneAction(s.base)
	if !s.pickedUp() || now.Before(s.pickupAt) {
		if !s.pickedUp() && !now.Before(s.timeoutAt) {
			a.Status = mde.StatusTimeOut
			a.LastUpdateDateTimeUtc = mde.Timestamp{Time: s.timeoutAt}
		}
		return a
	}

	a.Status = mde.StatusInProgress
	a.LastUpdateDateTimeUtc = mde.Timestamp{Time: s.pickupAt}
	start := s.pickupAt
	for i, end := range s.ends {
		c := &a.Commands()[i]
		c.StartTime = mde.Timestamp{Time: start}
		if now.Before(end) {
			c.CommandStatus = "Executing"
			break
		}
		c.EndTime = mde.Timestamp{Time: end}
		c.CommandStatus = "Completed"
		if i == len(s.ends)-1 && s.outcome == mde.StatusFailed {
			c.CommandStatus = "Failed"
			c.Errors = []string{s.failure}
		}
		a.LastUpdateDateTimeUtc = mde.Timestamp{Time: end}
		start = end
	}
	if !now.Before(s.finishAt) {
		a.Status = s.outcome
		a.LastUpdateDateTimeUtc = mde.Timestamp{Time: s.finishAt}
		if s.outcome == mde.StatusFailed {
			a.Edit().ErrorHResult = s.hresult
		}
	}
	return a
}

// nextAfter returns the first scheduled event after now, or the zero time
// if nothing more will happen.
func (s *schedule) nextAfter(now time.Time) time.Time {
	var events []time.Time
	if s.pickedUp() {
		events = append(events, s.pickupAt)
		events = append(events, s.ends...)
		events = append(events, s.finishAt)
	} else {
		events = append(events, s.timeoutAt)
	}
	var next time.Time
	for _, t := range events {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// cloneAction returns a deep copy of a, so that callers never share slices
// or pointers with the simulator's state.
func cloneAction(a mde.MachineAction) mde.MachineAction {
	if a.Rare == nil {
		return a
	}
	rare := *a.Rare // a copy of its own: the clone's rare fields are written apart
	rare.Unreadable = slices.Clone(rare.Unreadable)
	a.Rare = &rare
	if a.RelatedFileInfo() != nil {
		info := *a.RelatedFileInfo()
		a.Edit().RelatedFileInfo = &info
	}
	if a.Commands() != nil {
		cmds := make([]mde.LiveResponseCommand, len(a.Commands()))
		for i, c := range a.Commands() {
			if c.Errors != nil {
				c.Errors = append([]string{}, c.Errors...)
			}
			if c.Command.Params != nil {
				c.Command.Params = append([]mde.CommandParam{}, c.Command.Params...)
			}
			cmds[i] = c
		}
		a.Edit().Commands = cmds
	}
	if a.TroubleshootInfo() != nil {
		a.Edit().TroubleshootInfo = append(json.RawMessage{}, a.TroubleshootInfo()...)
	}
	return a
}
