package ui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mdeactions/mdeactions/mde/textsafe"
	"github.com/mdeactions/mdeactions/ui/signin"
)

// Messages of the sign-in, each tagged with the try it belongs to.
type (
	readyMsg struct {
		gen     int
		account string
		ok      bool
		err     error
	}
	startedMsg struct {
		gen    int
		prompt signin.Prompt
		err    error
	}
	signedInMsg struct {
		gen     int
		account string
		err     error
	}
)

// newTry starts a sign-in try: its context is cancelled by esc, q, or the
// next try, so that nothing of an abandoned try keeps running (or keeps
// the token cache's lock).
func (m *Model) newTry() context.Context {
	if m.stopWait != nil {
		m.stopWait()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.tryCtx, m.stopWait = ctx, cancel
	return ctx
}

func (m Model) readyCmd(gen int) tea.Cmd {
	si, timeout, try := m.opts.SignIn, m.opts.Timeout, m.tryCtx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(try, timeout)
		defer cancel()
		account, ok, err := si.Ready(ctx)
		return readyMsg{gen, account, ok, err}
	}
}

func (m Model) startCmd(gen int) tea.Cmd {
	si, timeout, try := m.opts.SignIn, m.opts.Timeout, m.tryCtx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(try, timeout)
		defer cancel()
		p, err := si.Start(ctx)
		return startedMsg{gen, p, err}
	}
}

// waitCmd polls until the person signs in; ctx is cancelled by esc.
func waitCmd(si SignIn, ctx context.Context, gen int) tea.Cmd {
	return func() tea.Msg {
		account, err := si.Wait(ctx)
		return signedInMsg{gen, account, err}
	}
}

// onSignIn moves the sign-in along; a reply to an older try is dropped.
func (m Model) onSignIn(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.signIn == nil {
		return m, nil
	}
	si := *m.signIn
	switch msg := msg.(type) {
	case readyMsg:
		if msg.gen != m.signGen {
			return m, nil
		}
		switch {
		case msg.err != nil:
			si.Stage, si.Err = signin.Failed, textsafe.Clean(msg.err.Error())
		case msg.ok:
			return m.signedIn(msg.account)
		default:
			si.Stage = signin.Requesting
			m.signIn = &si
			return m, m.startCmd(m.signGen)
		}
	case startedMsg:
		if msg.gen != m.signGen {
			if msg.err == nil {
				// The code came for a try given up meanwhile: let it go,
				// or it would keep the token cache's lock.
				return m, abortCmd(m.opts.SignIn)
			}
			return m, nil
		}
		if msg.err != nil {
			si.Stage, si.Err = signin.Failed, textsafe.Clean(msg.err.Error())
			break
		}
		if msg.prompt.Code != "" {
			si.Stage, si.Prompt = signin.Waiting, msg.prompt
		}
		// No code: someone signed in meanwhile (another terminal);
		// Wait answers at once.
		m.signIn = &si
		return m, waitCmd(m.opts.SignIn, m.tryCtx, m.signGen)
	case signedInMsg:
		if msg.gen != m.signGen {
			return m, nil
		}
		if msg.err != nil {
			si.Stage, si.Err = signin.Failed, textsafe.Clean(msg.err.Error())
			break
		}
		return m.signedIn(msg.account)
	}
	m.signIn = &si
	return m, nil
}

func (m Model) signedIn(account string) (tea.Model, tea.Cmd) {
	m.signIn = nil
	m.account = textsafe.Clean(account)
	if m.account != "" {
		m.msg = footerMsg{footOK, "Signed in as " + m.account + "."}
	}
	return m, m.loadCmd(m.gen)
}

// signInKey handles keys on the sign-in screen: esc aborts, r tries again.
func (m Model) signInKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.ctx.Keys
	si := *m.signIn
	switch {
	case key.Matches(msg, k.Quit):
		m.abortSignIn()
		return m, tea.Sequence(abortCmd(m.opts.SignIn), tea.Quit)
	case key.Matches(msg, k.Back) && (si.Stage == signin.Checking || si.Stage == signin.Requesting || si.Stage == signin.Waiting):
		m.abortSignIn()
		si.Stage = signin.Aborted
		m.signIn = &si
		return m, abortCmd(m.opts.SignIn)
	case key.Matches(msg, k.Refresh) && (si.Stage == signin.Failed || si.Stage == signin.Aborted):
		m.signGen++
		si.Stage, si.Err = signin.Checking, ""
		m.signIn = &si
		m.newTry()
		return m, m.readyCmd(m.signGen)
	}
	return m, nil
}

// abortSignIn stops waiting and makes any reply to this try stale.
func (m *Model) abortSignIn() {
	if m.stopWait != nil {
		m.stopWait()
		m.stopWait = nil
	}
	m.signGen++
}

func abortCmd(si SignIn) tea.Cmd {
	return func() tea.Msg {
		si.Abort()
		return nil
	}
}
