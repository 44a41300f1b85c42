package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// DeviceCodeSource signs a person in with the device code flow (public
// client) and keeps the tokens in a per-(cloud, tenant, client id) cache
// file, or in memory with Config.NoCache.
//
// Token is silent only: it uses the cache and the refresh token and returns
// ErrSignInRequired when a person has to sign in. Signing in is
// StartSignIn + SignIn.Wait (the TUI's sign-in screen) or Login (the
// `mdeactions login` command).
type DeviceCodeSource struct {
	client    public.Client
	scopes    []string
	cachePath string // "" with NoCache
	lock      *acquireLock

	memo memo
	id   label

	mu      sync.Mutex
	account public.Account // the account last used, zero before
}

func newDeviceCodeSource(c Config) (*DeviceCodeSource, error) {
	s := &DeviceCodeSource{scopes: []string{c.Cloud.Scope}}
	opts := []public.Option{
		public.WithAuthority(c.Cloud.AuthorityHost + "/" + c.TenantID),
		public.WithHTTPClient(c.httpClient()),
		public.WithInstanceDiscovery(!c.DisableInstanceDiscovery),
	}
	lockPath := ""
	if !c.NoCache {
		dir, err := c.cacheDir()
		if err != nil {
			return nil, &SetupError{Mode: c.Mode, Problem: err.Error()}
		}
		s.cachePath = filepath.Join(dir, c.cacheFileName())
		// Refuse an unsafe cache now, before anything else happens.
		if err := checkPrivate(dir, true); err != nil {
			return nil, err
		}
		if err := checkPrivate(s.cachePath, false); err != nil {
			return nil, err
		}
		lockPath = s.cachePath + ".lock"
		opts = append(opts, public.WithCache(&fileCache{path: s.cachePath, warn: c.Warn}))
	}
	s.lock = newAcquireLock(lockPath, c.Warn)
	client, err := public.New(c.ClientID, opts...)
	if err != nil {
		return nil, &SetupError{Mode: c.Mode, Problem: "cannot set up sign-in: " + cleanText(err.Error())}
	}
	s.client = client
	return s, nil
}

// CachePath is the token cache file ("" with NoCache).
func (s *DeviceCodeSource) CachePath() string { return s.cachePath }

// Identity is the signed-in account's user name, once known.
func (s *DeviceCodeSource) Identity() string { return s.id.get() }

// Token returns a token without any interaction: the cached access token,
// or one redeemed with the cached refresh token. It returns an error that
// errors.Is ErrSignInRequired when a person must sign in.
func (s *DeviceCodeSource) Token(ctx context.Context) (string, error) {
	if tok, ok := s.memo.get(time.Now()); ok {
		return tok, nil
	}
	release, err := s.lock.lock(ctx)
	if err != nil {
		return "", fail("silent sign-in", err)
	}
	defer release()
	res, err := s.silentLocked(ctx, "")
	if err != nil {
		return "", fail("silent sign-in", err)
	}
	return res.AccessToken, nil
}

// Refresh acquires a new access token with the refresh token, bypassing
// the cached access token: MSAL skips its access-token cache when the
// silent request carries claims (see freshClaims). The new token replaces
// the old one in the cache.
func (s *DeviceCodeSource) Refresh(ctx context.Context) (string, error) {
	release, err := s.lock.lock(ctx)
	if err != nil {
		return "", fail("token refresh", err)
	}
	defer release()
	res, err := s.silentLocked(ctx, freshClaims(time.Now()))
	if err != nil {
		return "", fail("token refresh", err)
	}
	return res.AccessToken, nil
}

// silentLocked is AcquireTokenSilent for the cached account; the caller
// holds the lock. MSAL's public client needs an account for silent
// requests (msal.md §1.3, PR #426).
func (s *DeviceCodeSource) silentLocked(ctx context.Context, claims string) (public.AuthResult, error) {
	acct, err := s.pickAccount(ctx)
	if err != nil {
		return public.AuthResult{}, err
	}
	opts := []public.AcquireSilentOption{public.WithSilentAccount(acct)}
	if claims != "" {
		opts = append(opts, public.WithClaims(claims))
	}
	res, err := s.client.AcquireTokenSilent(ctx, s.scopes, opts...)
	if err != nil {
		return public.AuthResult{}, silentError(err)
	}
	s.remember(res)
	return res, nil
}

// pickAccount returns the account to use: the one used last if it is still
// cached, else the first cached one (a successful sign-in removes the
// others, so there is normally one).
func (s *DeviceCodeSource) pickAccount(ctx context.Context) (public.Account, error) {
	accts, err := s.client.Accounts(ctx)
	if err != nil {
		return public.Account{}, err
	}
	if len(accts) == 0 {
		s.memo.clear()
		return public.Account{}, fmt.Errorf("%w: no account is signed in for this tenant and app", ErrSignInRequired)
	}
	s.mu.Lock()
	last := s.account.HomeAccountID
	s.mu.Unlock()
	for _, a := range accts {
		if a.HomeAccountID == last {
			return a, nil
		}
	}
	return accts[0], nil
}

// silentError decides whether a failed silent request means "a person has
// to sign in" (no refresh token, or Entra ID refused it) or is a real
// failure to report (network, cache file, server error).
func silentError(err error) error {
	var (
		ce  msalerrors.CallErr
		cer *CacheError
		ue  *url.Error
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &cer), errors.As(err, &ue):
		return err
	case errors.As(err, &ce):
		a := aadErrorFrom(ce, nil)
		if a.StatusCode == 400 || a.StatusCode == 401 {
			switch a.Code {
			case "invalid_grant", "interaction_required", "login_required", "consent_required":
				return fmt.Errorf("%w: %w", ErrSignInRequired, a)
			}
		}
		return a
	}
	// MSAL's own "no token found" (no refresh token for this account).
	return fmt.Errorf("%w (%s)", ErrSignInRequired, cleanText(redact(err.Error())))
}

func (s *DeviceCodeSource) remember(res public.AuthResult) {
	s.memo.set(res.AccessToken, res.ExpiresOn, res.Metadata.RefreshOn)
	s.mu.Lock()
	s.account = res.Account
	s.mu.Unlock()
	s.id.set(accountName(res.Account, res))
}

func accountName(a public.Account, res public.AuthResult) string {
	for _, n := range []string{a.PreferredUsername, res.IDToken.PreferredUsername, res.IDToken.UPN, res.IDToken.Email, res.IDToken.Name, a.HomeAccountID} {
		if n != "" {
			return cleanText(n)
		}
	}
	return identityFromToken(res.AccessToken)
}

// DeviceCode is what the person needs to sign in on another device.
type DeviceCode struct {
	VerificationURL string    // https://microsoft.com/devicelogin
	UserCode        string    // to type there
	Message         string    // Entra ID's ready-made sentence with both
	ExpiresOn       time.Time // local clock
}

// SignIn is a device code sign-in in progress. It holds the cache lock
// from StartSignIn until Wait returns or Abort is called.
type SignIn struct {
	Code DeviceCode

	// AlreadySignedIn is set when, while StartSignIn waited for the lock,
	// another process signed in: there is no code to show and Wait
	// returns the account at once.
	AlreadySignedIn bool

	src     *DeviceCodeSource
	dc      public.DeviceCode
	account string

	mu       sync.Mutex
	release  func() // the lock; nil once released
	waiting  bool
	finished bool
	aborted  bool
	cancel   context.CancelFunc
	done     chan struct{} // closed when a running Wait returns
}

// StartSignIn takes the cross-process cache lock, waiting (honouring ctx)
// while another sign-in with the same cache is in progress, and requests a
// device code. If the wait ends with a usable cached account (someone else
// signed in), the SignIn has AlreadySignedIn set. The lock is held until
// SignIn.Wait returns or SignIn.Abort is called; until then this source's
// Token, Refresh, StartSignIn and Logout fail at once with an error that
// errors.Is ErrSignInBusy ("a sign-in started in this window is still
// open"). When the wait for another process's sign-in ends with ctx, the
// error errors.Is ErrSignInBusy and ctx's error.
func (s *DeviceCodeSource) StartSignIn(ctx context.Context) (*SignIn, error) {
	release, err := s.lock.lock(ctx)
	if err != nil {
		return nil, fail("device code sign-in", err)
	}
	si, err := s.startLocked(ctx, release)
	if err != nil {
		release()
		return nil, err
	}
	if !si.AlreadySignedIn {
		// Until Wait returns or Abort: this source's other calls say so
		// at once instead of waiting for a person who may not come back.
		s.lock.heldBySignIn()
	}
	return si, nil
}

func (s *DeviceCodeSource) startLocked(ctx context.Context, release func()) (*SignIn, error) {
	// Another terminal may have signed in while we waited for the lock.
	if _, err := s.silentLocked(ctx, ""); err == nil {
		release()
		return &SignIn{AlreadySignedIn: true, src: s, account: s.id.get(), finished: true}, nil
	} else if ctx.Err() != nil {
		return nil, fail("device code sign-in", err)
	}
	dc, err := s.client.AcquireTokenByDeviceCode(ctx, s.scopes)
	if err != nil {
		return nil, fail("device code sign-in", err)
	}
	r := dc.Result
	return &SignIn{
		Code: DeviceCode{
			VerificationURL: cleanText(r.VerificationURL),
			UserCode:        cleanText(r.UserCode),
			Message:         cleanText(r.Message),
			ExpiresOn:       r.ExpiresOn,
		},
		src:     s,
		dc:      dc,
		release: release,
	}, nil
}

// Wait polls Entra ID until the person has signed in, the code expired or
// was declined, Abort was called, or ctx is done, and returns the signed-in
// account's user name. It always releases the lock. Call it once.
//
// MSAL polls at 50 ms, tripling up to 5 s, and ignores the server's
// interval; it stops at the code's expiry even without a ctx deadline
// (msal.md §1.2).
func (si *SignIn) Wait(ctx context.Context) (string, error) {
	si.mu.Lock()
	if si.AlreadySignedIn {
		si.mu.Unlock()
		return si.account, nil
	}
	if si.finished || si.waiting {
		aborted := si.aborted
		si.mu.Unlock()
		if aborted {
			return "", &Error{Op: "device code sign-in", Err: ErrSignInAborted}
		}
		return "", &Error{Op: "device code sign-in", Err: errors.New("Wait called twice")}
	}
	ctx, cancel := context.WithCancel(ctx)
	si.waiting, si.cancel, si.done = true, cancel, make(chan struct{})
	si.mu.Unlock()

	res, err := si.dc.AuthenticationResult(ctx)
	if err == nil {
		si.src.remember(res)
		si.src.removeOtherAccounts(ctx, res.Account)
	}

	si.mu.Lock()
	aborted := si.aborted
	si.finished, si.waiting = true, false
	si.releaseLocked()
	cancel()
	close(si.done)
	si.mu.Unlock()

	switch {
	case err == nil:
		return si.src.Identity(), nil
	case aborted:
		return "", &Error{Op: "device code sign-in", Err: ErrSignInAborted}
	case errors.Is(err, context.DeadlineExceeded) && !time.Now().Before(si.Code.ExpiresOn):
		// MSAL bounds the wait by the code's expiry with a ctx deadline.
		return "", &Error{Op: "device code sign-in", Err: fmt.Errorf("%w (at %s)", ErrCodeExpired, si.Code.ExpiresOn.Local().Format("15:04:05"))}
	}
	return "", fail("device code sign-in", err)
}

// Abort gives up the sign-in: a running Wait returns ErrSignInAborted, and
// the lock is released before Abort returns. Safe to call twice, before
// Wait or after it.
func (si *SignIn) Abort() {
	si.mu.Lock()
	if si.finished {
		si.mu.Unlock()
		return
	}
	si.aborted = true
	if si.waiting {
		cancel, done := si.cancel, si.done
		si.mu.Unlock()
		cancel()
		<-done // Wait releases the lock
		return
	}
	si.finished = true
	si.releaseLocked()
	si.mu.Unlock()
}

func (si *SignIn) releaseLocked() {
	if si.release != nil {
		si.release()
		si.release = nil
	}
}

// removeOtherAccounts keeps one account per cache file: the one that just
// signed in. Failing to remove the others is not fatal.
func (s *DeviceCodeSource) removeOtherAccounts(ctx context.Context, keep public.Account) {
	accts, err := s.client.Accounts(ctx)
	if err != nil {
		return
	}
	for _, a := range accts {
		if a.HomeAccountID != keep.HomeAccountID {
			_ = s.client.RemoveAccount(ctx, a)
		}
	}
}

// Login signs in for `mdeactions login`: silently if the cache allows,
// otherwise with a device code, which show is called with (to print it on
// stderr). It returns the account's user name.
func (s *DeviceCodeSource) Login(ctx context.Context, show func(DeviceCode)) (string, error) {
	if _, err := s.Token(ctx); err == nil {
		return s.Identity(), nil
	} else if !errors.Is(err, ErrSignInRequired) {
		return "", err
	}
	si, err := s.StartSignIn(ctx)
	if err != nil {
		return "", err
	}
	if !si.AlreadySignedIn && show != nil {
		show(si.Code)
	}
	return si.Wait(ctx)
}

// Logout signs out: LogoutFiles without the list of the files removed.
// It returns nil when there was nothing to remove, too.
func (s *DeviceCodeSource) Logout(ctx context.Context) error {
	_, err := s.LogoutFiles(ctx)
	return err
}

// LogoutFiles signs out: it forgets the account in memory and deletes the
// token cache file together with any copies of it moved aside as damaged
// ("<cache>.corrupt-*") and temporary files left by an interrupted write,
// as all of them may hold refresh tokens. It returns the files it removed:
// none when nothing was saved (with NoCache, CachePath is ""), and then it
// creates nothing either (no directory, no lock file). LogoutMessage says
// which it was in words.
//
// It works on a cache that other users can read or write, which every
// other method refuses: removing it is the fix. The lock file stays:
// removing it could let two processes hold the lock at once.
func (s *DeviceCodeSource) LogoutFiles(ctx context.Context) (removed []string, err error) {
	s.forget()
	if s.cachePath == "" {
		release, err := s.lock.lock(ctx)
		if err != nil {
			return nil, fail("sign-out", err)
		}
		defer release()
		accts, err := s.client.Accounts(ctx)
		if err != nil {
			return nil, fail("sign-out", err)
		}
		for _, a := range accts {
			if err := s.client.RemoveAccount(ctx, a); err != nil {
				return nil, fail("sign-out", err)
			}
		}
		return nil, nil
	}
	// MSAL reloads the file before every use (fileCache.Replace), so once
	// it is gone this source's MSAL client has no account either.
	removed, err = removeSavedSignIn(ctx, s.lock, s.cachePath)
	s.forget()
	if err != nil {
		return removed, fail("sign-out", err)
	}
	return removed, nil
}

func (s *DeviceCodeSource) forget() {
	s.memo.clear()
	s.mu.Lock()
	s.account = public.Account{}
	s.mu.Unlock()
	s.id.clear()
}

// SignOut is LogoutFiles for the configuration cfg, without New: New
// refuses a cache that other users can read, and removing such a cache is
// exactly what signing out should do. It returns the cache file's path
// ("" when cfg keeps nothing on disk: NoCache, or a mode other than
// devicecode) and the files removed.
func SignOut(ctx context.Context, cfg Config) (cachePath string, removed []string, err error) {
	c, err := cfg.resolve()
	if err != nil {
		return "", nil, err
	}
	if c.Mode != ModeDeviceCode || c.NoCache {
		return "", nil, nil
	}
	dir, err := c.cacheDir()
	if err != nil {
		return "", nil, &SetupError{Mode: c.Mode, Problem: err.Error()}
	}
	cachePath = filepath.Join(dir, c.cacheFileName())
	removed, err = removeSavedSignIn(ctx, newAcquireLock(cachePath+".lock", c.Warn), cachePath)
	if err != nil {
		return cachePath, removed, fail("sign-out", err)
	}
	return cachePath, removed, nil
}

// LogoutMessage is what to tell the person after LogoutFiles or SignOut:
// cachePath "" means nothing is saved on disk (NoCache or an app mode).
func LogoutMessage(cachePath string, removed []string) string {
	switch {
	case cachePath == "":
		return "Signed out. Nothing is saved on disk in this mode (--no-cache or an app sign-in), so there was nothing to remove."
	case len(removed) == 0:
		return "Already signed out: there is no saved sign-in at " + cachePath + ", nothing to remove."
	case len(removed) == 1:
		return "Signed out; removed " + removed[0] + "."
	}
	return "Signed out; removed " + strings.Join(removed, ", ") + "."
}

// removeSavedSignIn deletes the cache file at path and its corrupt and
// temporary copies, under the cache lock (without the permission checks:
// see LogoutFiles). With no such file it neither locks nor creates
// anything.
func removeSavedSignIn(ctx context.Context, lock *acquireLock, path string) ([]string, error) {
	files, err := savedFiles(path)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	release, err := lock.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	defer release()
	if files, err = savedFiles(path); err != nil { // again, under the lock
		return nil, err
	}
	var removed []string
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, &CacheError{Path: f, Problem: "cannot be removed: " + pathlessError(err), Fix: "rm " + shellQuote(f)}
		}
		removed = append(removed, f)
	}
	return removed, nil
}

// savedFiles lists the cache file at path, the copies Replace moved aside
// ("<cache>.corrupt-<time>") and Export's temporary files
// (".<cache>.tmp-*"), sorted, whichever exist.
func savedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &CacheError{Path: filepath.Clean(dir), Problem: "cannot be listed: " + pathlessError(err)}
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			continue
		}
		if n == base || strings.HasPrefix(n, base+".corrupt-") || strings.HasPrefix(n, "."+base+".tmp-") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}
