// Package signin is the screen shown while a person signs in with a device
// code: where to go, which code to enter, and what is happening.
package signin

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/common"
	"github.com/mdeactions/mdeactions/ui/format"
	"github.com/mdeactions/mdeactions/ui/keys"
)

// Prompt is what the identity provider asks the person to do.
type Prompt struct {
	URL       string
	Code      string
	Message   string
	ExpiresOn time.Time
}

// Stage is where the sign-in is.
type Stage int

// The stages.
const (
	Checking   Stage = iota // looking for a cached sign-in
	Requesting              // asking the identity provider for a code
	Waiting                 // the code is shown; polling
	Failed                  // it went wrong; Err says why
	Aborted                 // the person pressed esc
)

// Model is the sign-in screen.
type Model struct {
	ctx    *common.Context
	Stage  Stage
	Prompt Prompt
	Err    string
	// About says what is being signed in to: cloud, tenant, client id.
	About string
}

// New returns the screen in its first stage.
func New(ctx *common.Context, about string) Model {
	return Model{ctx: ctx, About: about}
}

// View draws the screen in height lines.
func (m Model) View(height int) string {
	st := m.ctx.Styles
	w := m.ctx.Width
	fit := func(s string) string { return format.Fit(s, w) }
	wrap := func(s string) []string {
		return strings.Split(lipgloss.NewStyle().Width(max(w-2, 10)).Render(s), "\n")
	}
	lines := []string{""}
	lines = append(lines, st.DialogTitle.Render(fit("  Sign in to Microsoft Defender for Endpoint")))
	if m.About != "" {
		for _, l := range wrap(textsafe.Clean(m.About)) {
			lines = append(lines, "  "+st.Muted.Render(l))
		}
	}
	lines = append(lines, "")
	switch m.Stage {
	case Checking:
		lines = append(lines, fit("  Looking for a saved sign-in…"))
	case Requesting:
		lines = append(lines, fit("  No saved sign-in: asking Microsoft Entra ID for a sign-in code…"))
	case Waiting:
		url := textsafe.Clean(m.Prompt.URL)
		code := textsafe.Clean(m.Prompt.Code)
		lines = append(lines,
			fit("  1. In a browser on any device, open:"),
			"     "+st.Header.Render(url),
			"",
			fit("  2. Enter this code:"),
			"     "+st.Badge.Render(" "+code+" "),
			"",
			fit("  3. Sign in, and check that the page names the app you expect."),
			"",
		)
		wait := "  Waiting for you to sign in…"
		if !m.Prompt.ExpiresOn.IsZero() {
			wait += fmt.Sprintf(" The code expires at %s.", m.Prompt.ExpiresOn.Local().Format("15:04:05"))
		}
		lines = append(lines, fit(wait))
	case Failed:
		for _, l := range wrap(m.Err) {
			lines = append(lines, "  "+st.Error.Render(l))
		}
		lines = append(lines, "", fit("  Press "+keys.Name(m.ctx.Keys.Refresh)+" to try again, or "+keys.Name(m.ctx.Keys.Quit)+" to quit."))
	case Aborted:
		lines = append(lines, fit("  Sign-in aborted. Press "+keys.Name(m.ctx.Keys.Refresh)+" to sign in again, or "+keys.Name(m.ctx.Keys.Quit)+" to quit."))
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
