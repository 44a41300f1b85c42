// Package mde is a client for the Microsoft Defender for Endpoint
// machine-actions API: its entity types, the typed query that builds OData
// filters, paging, and typed errors carrying the HTTP status and Retry-After.
package mde

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
)

// ActionType is the machine action's type. It is an open set: a value the
// API sends that is not one of the constants below is kept and shown as is.
type ActionType string

// The nine documented action types.
const (
	TypeRunAntiVirusScan            ActionType = "RunAntiVirusScan"
	TypeOffboard                    ActionType = "Offboard"
	TypeLiveResponse                ActionType = "LiveResponse"
	TypeCollectInvestigationPackage ActionType = "CollectInvestigationPackage"
	TypeIsolate                     ActionType = "Isolate"
	TypeUnisolate                   ActionType = "Unisolate"
	TypeStopAndQuarantineFile       ActionType = "StopAndQuarantineFile"
	TypeRestrictCodeExecution       ActionType = "RestrictCodeExecution"
	TypeUnrestrictCodeExecution     ActionType = "UnrestrictCodeExecution"
)

// ActionTypes lists the nine documented types in a stable order.
var ActionTypes = []ActionType{
	TypeIsolate, TypeUnisolate, TypeRunAntiVirusScan, TypeCollectInvestigationPackage,
	TypeRestrictCodeExecution, TypeUnrestrictCodeExecution, TypeStopAndQuarantineFile,
	TypeOffboard, TypeLiveResponse,
}

// ActionStatus is the machine action's status. It is an open set.
type ActionStatus string

// The six documented statuses ("Cancelled" with a double L, as the API sends it).
const (
	StatusPending    ActionStatus = "Pending"
	StatusInProgress ActionStatus = "InProgress"
	StatusSucceeded  ActionStatus = "Succeeded"
	StatusFailed     ActionStatus = "Failed"
	StatusTimeOut    ActionStatus = "TimeOut"
	StatusCancelled  ActionStatus = "Cancelled"
)

// Final reports whether the status is one the action can no longer leave
// (Succeeded, Failed, TimeOut, Cancelled). An unknown status is not final:
// the tool lets the server decide.
func (s ActionStatus) Final() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimeOut, StatusCancelled:
		return true
	}
	return false
}

// Open reports whether the status is Pending or InProgress.
func (s ActionStatus) Open() bool { return s == StatusPending || s == StatusInProgress }

// Scope is "Full"/"Selective" for isolation, "Quick"/"Full" for scans; empty otherwise.
type Scope string

// RequestSource names where the action came from ("PublicApi", …). Open set.
type RequestSource string

// TimeLayout is the API's timestamp format: UTC, up to 7 fractional digits,
// trailing zeros trimmed.
const TimeLayout = "2006-01-02T15:04:05.9999999Z"

// Timestamp is a UTC time as the API writes it. The zero value stands for
// JSON null. Decoding accepts null, "", any RFC 3339 form with up to 9
// fractional digits, and a time without a zone (taken as UTC); anything else
// decodes to the zero value with Raw set, so that one odd field never fails
// a whole list.
type Timestamp struct {
	time.Time
	// Raw holds the text of a value that could not be parsed.
	Raw string
}

// MarshalJSON writes null for the zero value, else the API's layout.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.Time.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.Time.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON is lenient; see Timestamp.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	*t = Timestamp{}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Raw = string(b)
		return nil
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	t.Raw = s
	return nil
}

// RelatedFileInfo identifies the file an action is about (StopAndQuarantineFile).
type RelatedFileInfo struct {
	FileIdentifier     string `json:"fileIdentifier"`
	FileIdentifierType string `json:"fileIdentifierType"`
}

// CommandParam is one key/value parameter of a live response command.
type CommandParam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Command is the command of a live response step.
type Command struct {
	Type   string         `json:"type"`
	Params []CommandParam `json:"params"`
}

// LiveResponseCommand is one element of commands[] on a LiveResponse action.
type LiveResponseCommand struct {
	Index         int       `json:"index"`
	StartTime     Timestamp `json:"startTime"`
	EndTime       Timestamp `json:"endTime"`
	CommandStatus string    `json:"commandStatus"`
	Errors        []string  `json:"errors"`
	Command       Command   `json:"command"`
}

// MachineAction is the machineAction entity with every key the API sends.
// String fields that the API may send as null decode to "", and encode back
// to null when empty (see MarshalJSON), so the simulator writes the real
// shape. Go's decoder matches keys case-insensitively, so the docs'
// "externalID" spelling decodes too.
type MachineAction struct {
	ID                    string        `json:"id"`
	Type                  ActionType    `json:"type"`
	Title                 string        `json:"title"`
	Requestor             string        `json:"requestor"`
	RequestorComment      string        `json:"requestorComment"`
	Status                ActionStatus  `json:"status"`
	MachineID             string        `json:"machineId"`
	ComputerDNSName       string        `json:"computerDnsName"`
	CreationDateTimeUtc   Timestamp     `json:"creationDateTimeUtc"`
	LastUpdateDateTimeUtc Timestamp     `json:"lastUpdateDateTimeUtc"`
	Scope                 Scope         `json:"scope"`
	RequestSource         RequestSource `json:"requestSource"`

	// Rare holds the keys an open action mostly leaves unset (its
	// cancellation, error, external id, file, commands): nil when all of
	// them are. Read them through the methods of the same names; Edit
	// gives them to write. At 100,000 actions held, that is 16 MB less.
	Rare *RareFields `json:"-"`
}

// RareFields are the keys of a machine action that most open actions
// leave unset (MachineAction.Rare).
type RareFields struct {
	CancellationRequestor   string                `json:"cancellationRequestor"`
	CancellationComment     string                `json:"cancellationComment"`
	CancellationDateTimeUtc Timestamp             `json:"cancellationDateTimeUtc"`
	ErrorHResult            int64                 `json:"errorHResult"`
	ExternalID              string                `json:"externalId"`
	RelatedFileInfo         *RelatedFileInfo      `json:"relatedFileInfo"`
	Commands                []LiveResponseCommand `json:"commands"`
	TroubleshootInfo        json.RawMessage       `json:"troubleshootInfo"`

	// Unreadable names the keys whose values had the wrong JSON type and
	// were left at their zero value. It is never sent or encoded.
	Unreadable []string `json:"-"`
}

// rare returns the rare fields to read (zero values when unset).
func (a MachineAction) rare() *RareFields {
	if a.Rare == nil {
		return &RareFields{}
	}
	return a.Rare
}

// Edit returns the rare fields to write, setting them up when unset.
func (a *MachineAction) Edit() *RareFields {
	if a.Rare == nil {
		a.Rare = &RareFields{}
	}
	return a.Rare
}

// CancellationRequestor is who asked for the cancel ("" if nobody did).
func (a MachineAction) CancellationRequestor() string { return a.rare().CancellationRequestor }

// CancellationComment is the comment given with the cancel.
func (a MachineAction) CancellationComment() string { return a.rare().CancellationComment }

// CancellationDateTimeUtc is when the action was cancelled.
func (a MachineAction) CancellationDateTimeUtc() Timestamp { return a.rare().CancellationDateTimeUtc }

// ErrorHResult is the action's error code (0: none).
func (a MachineAction) ErrorHResult() int64 { return a.rare().ErrorHResult }

// ExternalID is the caller's own id for the action.
func (a MachineAction) ExternalID() string { return a.rare().ExternalID }

// RelatedFileInfo is the file a StopAndQuarantineFile action is about.
func (a MachineAction) RelatedFileInfo() *RelatedFileInfo { return a.rare().RelatedFileInfo }

// Commands are a live response action's steps.
func (a MachineAction) Commands() []LiveResponseCommand { return a.rare().Commands }

// TroubleshootInfo is the troubleshoot action's details, as the API sent them.
func (a MachineAction) TroubleshootInfo() json.RawMessage { return a.rare().TroubleshootInfo }

// Unreadable names the keys whose values had the wrong JSON type and were
// left at their zero value.
func (a MachineAction) Unreadable() []string { return a.rare().Unreadable }

// isZero reports whether no rare field is set (then an action holds none).
func (r *RareFields) isZero() bool {
	return r.CancellationRequestor == "" && r.CancellationComment == "" &&
		r.CancellationDateTimeUtc.same(Timestamp{}) && r.ErrorHResult == 0 && r.ExternalID == "" &&
		r.RelatedFileInfo == nil && r.Commands == nil && len(r.TroubleshootInfo) == 0 && r.Unreadable == nil
}

// UnmarshalJSON decodes leniently: unknown keys are ignored, nulls become
// zero values, and the docs' erroneous "lastUpdateTimeUtc" is used when
// "lastUpdateDateTimeUtc" is absent.
func (a *MachineAction) UnmarshalJSON(b []byte) error {
	type plain MachineAction
	var aux struct {
		plain
		RareFields
		LegacyLastUpdate Timestamp `json:"lastUpdateTimeUtc"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		// One field of the wrong type (a string errorHResult, a number for
		// a name) must not lose the whole action, nor the whole list:
		// decode field by field and note what could not be read.
		var fields map[string]json.RawMessage
		if json.Unmarshal(b, &fields) != nil {
			return err
		}
		aux.plain, aux.RareFields, aux.LegacyLastUpdate = plain{}, RareFields{}, Timestamp{}
		var unreadable []string
		for k, v := range fields {
			one, _ := json.Marshal(map[string]json.RawMessage{k: v})
			if json.Unmarshal(one, &aux) != nil {
				unreadable = append(unreadable, k)
			}
		}
		sort.Strings(unreadable)
		aux.RareFields.Unreadable = unreadable
	}
	*a = MachineAction(aux.plain)
	if a.LastUpdateDateTimeUtc.IsZero() && a.LastUpdateDateTimeUtc.Raw == "" {
		a.LastUpdateDateTimeUtc = aux.LegacyLastUpdate
	}
	r := aux.RareFields
	if bytes.Equal(r.TroubleshootInfo, []byte("null")) {
		r.TroubleshootInfo = nil
	}
	if len(r.Commands) == 0 {
		r.Commands = nil // "commands": [] is how the API says none
	}
	if !r.isZero() {
		a.Rare = &r
	}
	return nil
}

// MarshalJSON writes every key in the order the real API does, with explicit
// nulls for unset values and [] for empty commands.
func (a MachineAction) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	a.appendFields(&buf)
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// MarshalEntity writes the single-entity response body: the @odata.context
// key first, then every field of the action.
func (a MachineAction) MarshalEntity(context string) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"@odata.context":`)
	writeJSON(&buf, context)
	buf.WriteByte(',')
	a.appendFields(&buf)
	buf.WriteByte('}')
	return buf.Bytes()
}

func (a MachineAction) appendFields(buf *bytes.Buffer) {
	r := a.rare()
	field := func(first bool, key string) {
		if !first {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(key)
		buf.WriteString(`":`)
	}
	str := func(key, v string, nullable bool) {
		field(key == "id", key)
		if nullable && v == "" {
			buf.WriteString("null")
			return
		}
		writeJSON(buf, v)
	}
	str("id", a.ID, false)
	str("type", string(a.Type), false)
	str("title", a.Title, true)
	str("requestor", a.Requestor, true)
	str("requestorComment", a.RequestorComment, true)
	str("status", string(a.Status), false)
	str("machineId", a.MachineID, true)
	str("computerDnsName", a.ComputerDNSName, true)
	field(false, "creationDateTimeUtc")
	writeJSON(buf, a.CreationDateTimeUtc)
	field(false, "lastUpdateDateTimeUtc")
	writeJSON(buf, a.LastUpdateDateTimeUtc)
	str("cancellationRequestor", r.CancellationRequestor, true)
	str("cancellationComment", r.CancellationComment, true)
	field(false, "cancellationDateTimeUtc")
	writeJSON(buf, r.CancellationDateTimeUtc)
	field(false, "errorHResult")
	writeJSON(buf, r.ErrorHResult)
	str("scope", string(a.Scope), true)
	str("externalId", r.ExternalID, true)
	str("requestSource", string(a.RequestSource), true)
	field(false, "relatedFileInfo")
	writeJSON(buf, r.RelatedFileInfo)
	field(false, "commands")
	if r.Commands == nil {
		buf.WriteString("[]")
	} else {
		writeJSON(buf, r.Commands)
	}
	field(false, "troubleshootInfo")
	if len(r.TroubleshootInfo) == 0 {
		buf.WriteString("null")
	} else {
		buf.Write(r.TroubleshootInfo)
	}
}

func writeJSON(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		buf.WriteString("null")
		return
	}
	buf.Write(b)
}

// CompletedBeforeCancel reports the race the API is known for: the action
// says Cancelled while a live response command had already completed.
func (a MachineAction) CompletedBeforeCancel() bool {
	if a.Status != StatusCancelled {
		return false
	}
	for _, c := range a.Commands() {
		if c.CommandStatus == "Completed" {
			return true
		}
	}
	return false
}

// Same reports whether a and b say the same of an action: every field
// equal (times as instants). A refresh keeps the earlier value of an action
// that is the Same (Client.Relist).
func (a *MachineAction) Same(b *MachineAction) bool {
	return a.ID == b.ID && a.Type == b.Type && a.Title == b.Title &&
		a.Requestor == b.Requestor && a.RequestorComment == b.RequestorComment &&
		a.Status == b.Status && a.MachineID == b.MachineID && a.ComputerDNSName == b.ComputerDNSName &&
		a.CreationDateTimeUtc.same(b.CreationDateTimeUtc) && a.LastUpdateDateTimeUtc.same(b.LastUpdateDateTimeUtc) &&
		a.Scope == b.Scope && a.RequestSource == b.RequestSource && a.rare().same(b.rare())
}

func (a *RareFields) same(b *RareFields) bool {
	return a.CancellationRequestor == b.CancellationRequestor && a.CancellationComment == b.CancellationComment &&
		a.CancellationDateTimeUtc.same(b.CancellationDateTimeUtc) && a.ErrorHResult == b.ErrorHResult &&
		a.ExternalID == b.ExternalID && sameFile(a.RelatedFileInfo, b.RelatedFileInfo) &&
		slices.EqualFunc(a.Commands, b.Commands, sameCommand) && (a.Commands == nil) == (b.Commands == nil) &&
		bytes.Equal(a.TroubleshootInfo, b.TroubleshootInfo) && slices.Equal(a.Unreadable, b.Unreadable)
}

func (t Timestamp) same(u Timestamp) bool { return t.Time.Equal(u.Time) && t.Raw == u.Raw }

func sameFile(a, b *RelatedFileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameCommand(a, b LiveResponseCommand) bool {
	return a.Index == b.Index && a.StartTime.same(b.StartTime) && a.EndTime.same(b.EndTime) &&
		a.CommandStatus == b.CommandStatus && slices.Equal(a.Errors, b.Errors) &&
		a.Command.Type == b.Command.Type && slices.Equal(a.Command.Params, b.Command.Params) &&
		(a.Errors == nil) == (b.Errors == nil) && (a.Command.Params == nil) == (b.Command.Params == nil)
}

// shareText makes a's text fields that equal p's use p's memory (a changed
// action of a refresh: most of its text did not).
func (a *MachineAction) shareText(p *MachineAction) {
	for _, f := range [...]struct{ dst, src *string }{
		{&a.ID, &p.ID}, {&a.Title, &p.Title}, {&a.Requestor, &p.Requestor},
		{&a.RequestorComment, &p.RequestorComment}, {&a.MachineID, &p.MachineID},
		{&a.ComputerDNSName, &p.ComputerDNSName},
	} {
		if *f.dst == *f.src {
			*f.dst = *f.src
		}
	}
}
