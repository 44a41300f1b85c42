package ui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/actiontable"
	"github.com/mdeactions/mdeactions/ui/filter"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// updateBar gives a key or a paste to the search/filter bar and acts on
// what it reports.
func (m Model) updateBar(msg tea.Msg) (tea.Model, tea.Cmd) {
	b, res, cmd := m.bar.Update(msg)
	m.bar = b
	switch res.Kind {
	case filter.Typing, filter.SearchDone:
		m.query = res.Text
		m.research()
	case filter.SearchCleared:
		m.query = ""
		m.research()
	case filter.SpecApplied:
		if why := m.tenantFilterRefused(res.Spec.Tenant); why != "" {
			m.msg = footerMsg{footErr, why}
			return m, cmd
		}
		m.spec = res.Spec
		if res.Reload || filter.NeedsReload(m.loadedSpec, m.spec) {
			// The server-side part widened: read the list again with it.
			m.gen++
			m.loading = true
			m.msg = footerMsg{footInfo, "Loading with the filter " + specText(m.spec) + "…"}
			return m, tea.Batch(cmd, m.loadCmd(m.gen))
		}
		m.research()
		m.msg = footerMsg{footInfo, "Filter: " + specText(m.spec) + "."}
		if t := m.tenantNamed(m.spec.Tenant); t != nil && t.err != "" {
			m.msg = footerMsg{footErr, "Filter: " + specText(m.spec) + ". Tenant " + t.Name + " failed to load, so its actions are not known: " + t.err}
		}
	}
	return m, cmd
}

// tenantFilterRefused says why a tenant: filter cannot apply here: one
// profile is one tenant, and the name must be one of the profiles shown.
func (m Model) tenantFilterRefused(name string) string {
	switch {
	case name == "":
		return ""
	case !m.multi():
		return "tenant: picks a profile in the all-profiles view (P); this list is one tenant's. The filter was not applied."
	case m.tenantNamed(name) == nil:
		names := make([]string, len(m.tenants))
		for i, t := range m.tenants {
			names[i] = t.Name
		}
		return "No profile here is named " + strconv.Quote(textsafe.Clean(name)) + " (one name; the profiles are " +
			strings.Join(names, ", ") + "). The filter was not applied."
	}
	return ""
}

// tenantNamed is the tenant of the profile with that name (any case), or nil.
func (m Model) tenantNamed(name string) *tenantState {
	name = strings.TrimSpace(name)
	for i := range m.tenants {
		if name != "" && strings.EqualFold(m.tenants[i].Name, name) {
			return &m.tenants[i]
		}
	}
	return nil
}

func specText(s filter.Spec) string {
	if t := s.String(); t != "" {
		return t
	}
	return "status:Pending,InProgress (the default)"
}

// research runs the search and the filter over the index and shows the
// result; the cursor stays on the same action when it is still shown.
func (m *Model) research() {
	if m.ix == nil {
		return
	}
	follow := m.table.SelectedID() // before Search reuses the view's memory
	m.idx = m.ix.Search(m.query, m.spec, m.opts.Now(), m.idx)
	m.table.SetView(m.idx, follow)
}

// updateRow changes the rows of an action in place and tells the index,
// without searching again: a row the user just cancelled stays in view
// (showing Cancelled) until the next refresh or search.
func (m *Model) updateRow(id string, fn func(*actiontable.Row)) {
	m.table.UpdateRow(id, fn)
	if m.ix == nil {
		return
	}
	rows := m.table.Rows()
	for i := range rows {
		if rows[i].Action.ID == id {
			m.ix.Refresh(i)
		}
	}
}

// filterLine says what narrows or orders the list, when anything does.
func (m Model) filterLine() string {
	parts := []string{}
	if !m.spec.IsDefault() {
		parts = append(parts, "filter "+m.spec.String())
	}
	if m.query != "" {
		parts = append(parts, "search \""+m.query+"\"")
	}
	if m.order != (filter.Order{}) {
		parts = append(parts, "sorted by "+m.order.String())
	}
	if len(parts) == 0 {
		return ""
	}
	text := ""
	for i, p := range parts {
		if i > 0 {
			text += " · "
		}
		text += p
	}
	if m.query != "" {
		text += " (" + keys.Name(m.ctx.Keys.Back) + " clears the search)"
	}
	return m.ctx.Styles.Info.Render(format.Fit(text, m.ctx.Width))
}
