// Package keys holds the one keymap of the UI. The same bindings drive the
// behaviour and the help, so the two cannot drift apart.
package keys

import "charm.land/bubbles/v2/key"

// KeyMap is every binding the UI reacts to outside a text field.
type KeyMap struct {
	Up          key.Binding
	Down        key.Binding
	Top         key.Binding
	Bottom      key.Binding
	PageUp      key.Binding
	PageDown    key.Binding
	HalfUp      key.Binding
	HalfDown    key.Binding
	Open        key.Binding
	Back        key.Binding
	Cancel      key.Binding // the destructive one: cancel a machine action
	Refresh     key.Binding
	Search      key.Binding // incremental text search over the shown columns
	Filter      key.Binding // the filter spec (status, type, device, requestor, age)
	Sort        key.Binding // sort by the next column
	Reverse     key.Binding // reverse the order
	Group       key.Binding // group the rows by device
	Report      key.Binding // the last bulk cancel's report
	Mark        key.Binding // mark the row for a bulk cancel, and move down
	MarkAll     key.Binding // mark every row shown
	ClearMarks  key.Binding
	PauseBulk   key.Binding // pause or resume a running bulk cancel
	StopBulk    key.Binding // send no more cancels of a running bulk cancel
	CopyID      key.Binding // the action id, to the local clipboard (OSC 52)
	CopyMachine key.Binding // the machine id
	Profile     key.Binding // switch profile (tenant), or all profiles at once
	Help        key.Binding
	Quit        key.Binding
	ForceQuit   key.Binding
}

// Default returns the default bindings, the ones k9s, lazygit and gh-dash
// users already know.
func Default() KeyMap {
	return KeyMap{
		Up:          key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		Top:         key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "top")),
		Bottom:      key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "bottom")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		HalfUp:      key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown:    key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Cancel:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel")),
		Refresh:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Search:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Filter:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "filter")),
		Sort:        key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by next column")),
		Reverse:     key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "reverse order")),
		Group:       key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "group by device")),
		Report:      key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "bulk report")),
		Mark:        key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark")),
		MarkAll:     key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "mark all shown")),
		ClearMarks:  key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "clear marks")),
		PauseBulk:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause/resume bulk")),
		StopBulk:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop bulk")),
		CopyID:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy action id")),
		CopyMachine: key.NewBinding(key.WithKeys("Y"), key.WithHelp("Y", "copy machine id")),
		Profile:     key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "switch profile")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ReadOnly unbinds every destructive key, so that it is neither reachable nor
// shown in help (the k9s way).
func (k *KeyMap) ReadOnly() {
	for _, b := range []*key.Binding{&k.Cancel, &k.Mark, &k.MarkAll, &k.ClearMarks, &k.PauseBulk, &k.StopBulk, &k.Report} {
		b.Unbind()
	}
}

// ShortHelp is the footer's one line of help in the list.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Cancel, k.Search, k.Help, k.Quit}
}

// FullHelp is the help screen, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.PageUp, k.PageDown, k.HalfUp, k.HalfDown},
		{k.Open, k.Back, k.Cancel, k.Refresh},
		{k.Search, k.Filter, k.Sort, k.Reverse, k.Group},
		{k.Mark, k.MarkAll, k.ClearMarks, k.PauseBulk, k.StopBulk, k.Report},
		{k.CopyID, k.CopyMachine, k.Profile},
		{k.Help, k.Quit, k.ForceQuit},
	}
}

// DetailHelp is the footer's help in the detail view.
// (Cancel comes first, so a view of a finished action can leave it out.)
func (k KeyMap) DetailHelp() []key.Binding {
	return []key.Binding{k.Cancel, k.CopyID, k.CopyMachine, k.Back, k.Quit}
}

// All returns every binding, for conflict checks.
func (k KeyMap) All() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown, k.HalfUp,
		k.HalfDown, k.Open, k.Back, k.Cancel, k.Refresh, k.Search, k.Filter, k.Sort, k.Reverse, k.Group, k.Mark, k.MarkAll, k.ClearMarks, k.PauseBulk, k.StopBulk, k.Report, k.CopyID, k.CopyMachine, k.Profile, k.Help, k.Quit, k.ForceQuit}
}

// Name is how a hint in the footer names a binding: its key as the help
// shows it (a profile may have rebound it).
func Name(b key.Binding) string { return b.Help().Key }
