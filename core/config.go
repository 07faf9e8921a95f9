package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core/internal/flight"
)

// EnvSDKURL is the environment variable read by [Default]: the Ory project URL or the Kratos
// public URL, as in Ory's own guides.
const EnvSDKURL = "ORY_SDK_URL"

// Enforcement says how the Ory project answers whoami for users with a second factor, which
// decides where a user whose session lacks aal2 is sent.
type Enforcement int

const (
	// Strict is Ory's default (session.whoami.required_aal: highest_available): whoami
	// answers 403 session_aal2_required when the identity has a second factor, so a 200 with
	// aal1 means the user has none yet and is sent to set one up in the settings flow.
	Strict Enforcement = iota
	// LaxStepUp is for projects with required_aal: aal1 whose users are expected to have a
	// second factor: an aal1 session is sent to the step-up login (?aal=aal2). A user without
	// a second factor sees an empty form there, so pick LaxEnroll if that can happen.
	LaxStepUp
	// LaxEnroll is for projects with required_aal: aal1 that send aal1 sessions to the
	// settings flow to add (or use) a second factor.
	LaxEnroll
)

// Config configures a [Verifier]. Only SDKURL (or APIClient) is required.
type Config struct {
	// SDKURL is the Ory project URL or Kratos public URL, e.g. https://slug.projects.oryapis.com.
	SDKURL string
	// BrowserURL is where browsers are sent for login, step-up and settings. It defaults to
	// SDKURL; set it when the app reaches Ory at another address than browsers do.
	BrowserURL string
	// APIClient is used for whoami when set; otherwise one is built for SDKURL. The verifier
	// calls it through a copy with the same safety rules as its own client (no redirects
	// followed, answers capped at 1 MiB, every call bounded by Timeout): yours is not changed.
	APIClient *ory.APIClient
	// Timeout bounds each whoami call, reading the answer included (default 5s). Under a
	// millisecond is refused as a unit left out (Timeout: 3 is 3 ns).
	Timeout time.Duration
	// MaxIdleConns is how many idle connections to Ory the verifier keeps for reuse (default
	// 100). Set it at least to the number of requests you expect to miss the cache at once:
	// each one over it opens a new connection (a TLS handshake with Ory Network).
	MaxIdleConns int
	// CookieNames are the exact names of Ory session cookies (default ory_kratos_session).
	CookieNames []string
	// CookiePrefixes match Ory Network's ory_session_<slug> cookies (default ory_session_).
	CookiePrefixes []string
	// DisableBearer stops reading "Authorization: Bearer" as an Ory session token, for apps
	// whose bearer tokens are something else.
	DisableBearer bool
	// AppURL is the app's public origin (scheme://host[:port]) used for return_to. Set it in
	// production: when empty the request's own scheme and Host are used, and the Host is
	// whatever the client sent (Ory's allowed_return_urls still applies).
	AppURL string
	// TrustForwardedHeaders uses X-Forwarded-Proto and X-Forwarded-Host for return_to when
	// AppURL is empty. Only set it behind a proxy that overwrites them.
	TrustForwardedHeaders bool
	// Enforcement tells how the project answers whoami; see [Strict] (the default).
	Enforcement Enforcement
	// Logger receives errors talking to Ory (default slog.Default()); repeated failures are
	// logged at most once per LogInterval. A panic in its handler is dropped.
	Logger *slog.Logger
	// LogInterval is the least time between two logged failures of the same kind (default
	// 10s), so an Ory outage does not flood the log. Negative logs every failure; a positive
	// one under a millisecond is refused as a unit left out.
	LogInterval time.Duration
	// OnError, when set, observes every error talking to Ory instead of the log. A panic in
	// it is dropped: the request it reports on fails closed anyway.
	OnError func(ctx context.Context, err error)
	// Observer, when set, is told about every decision, whoami call and cache event (for
	// metrics and traces; see the otel module). Nil costs nothing. A panic in one of its
	// methods fails the request closed (502), and the app keeps serving.
	Observer Observer
	// Cache configures the session cache; see [CacheConfig]. A TTL under a millisecond is
	// refused as a unit left out (TTL: 10 is 10 ns, a cache that never hits).
	Cache CacheConfig
	// Tokens turns on the local verification of Ory's session JWTs; see [TokenConfig].
	Tokens TokenConfig
	// Now is the clock (default time.Now); tests set it. Ory's times are compared with the
	// wall clock it reads at that moment; the cache's TTL runs on the monotonic reading of
	// its times (time.Now's), so a wall-clock step neither shortens nor extends it.
	Now func() time.Time
}

// Verifier asks Ory for sessions. It is safe for concurrent use; create one per app and share
// it between guards (the default one is shared already). It holds no goroutine: one that is
// dropped leaves nothing running.
type Verifier struct {
	ory        *ory.APIClient
	browserURL string // no trailing slash
	appURL     *url.URL
	trustFwd   bool
	names      credentialNames
	timeout    time.Duration
	enforce    Enforcement
	report     func(context.Context, error)
	observer   Observer
	now        func() time.Time // Config.Now or time.Now (see at)
	started    time.Time        // the clock when the verifier was built
	cache      *sessionCache
	calls      flight.Group[fetched] // whoami calls shared by concurrent requests (ory.go)
	tokens     *tokenVerifier        // JWT mode (token.go); nil when off
	minter     *tokenMinter          // SessionJWT (tokenmint.go)
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("orymfa: invalid configuration")

// New checks cfg and builds a Verifier. Errors name the setting at fault and wrap [ErrConfig].
func New(cfg Config) (*Verifier, error) {
	if cfg.Enforcement < Strict || cfg.Enforcement > LaxEnroll {
		return nil, fmt.Errorf("%w: Enforcement %d is not Strict, LaxStepUp or LaxEnroll", ErrConfig, cfg.Enforcement)
	}
	if cfg.Timeout < 0 || cfg.MaxIdleConns < 0 {
		return nil, fmt.Errorf("%w: Timeout and MaxIdleConns must not be negative", ErrConfig)
	}
	for _, d := range []struct {
		setting string
		value   time.Duration
		hint    string
	}{
		{"Timeout", cfg.Timeout, ""},
		{"Cache.TTL", cfg.Cache.TTL, " (Cache.Disabled turns the cache off)"},
		{"LogInterval", cfg.LogInterval, " (a negative LogInterval logs every failure)"},
	} {
		if err := tooShort(d.setting, d.value, time.Millisecond, "time.Second", d.hint); err != nil {
			return nil, err
		}
	}
	v := &Verifier{
		trustFwd: cfg.TrustForwardedHeaders,
		timeout:  cmpOr(cfg.Timeout, 5*time.Second),
		enforce:  cfg.Enforcement,
		observer: cfg.Observer,
		names: credentialNames{
			cookieNames:    cfg.CookieNames,
			cookiePrefixes: cfg.CookiePrefixes,
			bearer:         !cfg.DisableBearer,
		},
	}
	if v.names.cookieNames == nil {
		v.names.cookieNames = defaultCredentialNames.cookieNames
	}
	if v.names.cookiePrefixes == nil {
		v.names.cookiePrefixes = defaultCredentialNames.cookiePrefixes
	}
	for _, n := range v.names.cookieNames {
		if !validCookieName(n) {
			return nil, fmt.Errorf("%w: CookieNames: %q is not a cookie name", ErrConfig, n)
		}
	}
	v.names.needle = commonPrefix(v.names.cookieNames, v.names.cookiePrefixes)
	v.now = cfg.Now
	if v.now == nil {
		v.now = time.Now
	}
	v.started = v.now()
	logger := cmpOr(cfg.Logger, slog.Default())
	report := cfg.OnError
	if report == nil {
		report = newErrorLog(logger, cmpOr(cfg.LogInterval, 10*time.Second), v.now)
	}
	v.report = safeReport(report)
	v.calls.Recovered = v.recovered

	sdkURL := cfg.SDKURL
	if sdkURL == "" && cfg.APIClient != nil && len(cfg.APIClient.GetConfig().Servers) > 0 {
		sdkURL = cfg.APIClient.GetConfig().Servers[0].URL
	}
	if sdkURL == "" {
		return nil, fmt.Errorf("%w: the Ory SDK URL is not set (set %s or Config.SDKURL)", ErrConfig, EnvSDKURL)
	}
	if _, err := parseBaseURL("SDKURL", sdkURL); err != nil {
		return nil, err
	}
	browser := cmpOr(cfg.BrowserURL, sdkURL)
	if _, err := parseBaseURL("BrowserURL", browser); err != nil {
		return nil, err
	}
	v.browserURL = strings.TrimRight(browser, "/")
	if cfg.AppURL != "" {
		u, err := parseBaseURL("AppURL", cfg.AppURL)
		if err != nil {
			return nil, err
		}
		if u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("%w: AppURL %q must be an origin (scheme://host[:port]) without a path", ErrConfig, cfg.AppURL)
		}
		v.appURL = u
	} else if !cfg.TrustForwardedHeaders {
		// An Ory on loopback is a developer's machine or a test (the test kit, a local
		// Kratos), where every test would print the line: there it is a debug record.
		level := slog.LevelInfo
		if loopback(sdkURL) {
			level = slog.LevelDebug
		}
		logger.Log(context.Background(), level, "orymfa: Config.AppURL is not set: return_to is built from each request's Host header; set AppURL in production", "sdk_url", sdkURL)
	}
	cache, err := newSessionCache(cfg.Cache, v.now, v.observer)
	if err != nil {
		return nil, err
	}
	v.cache = cache
	if err := v.setupTokens(cfg, sdkURL); err != nil {
		return nil, err
	}
	v.ory = newWhoamiClient(v, sdkURL, cfg.APIClient, cmpOr(cfg.MaxIdleConns, 100))
	return v, nil
}

// tooShort refuses a positive duration under least: a time.Duration counts nanoseconds, so
// Timeout: 3 is 3 ns (every request would time out) and WithMaxAge(5) 5 ns (an endless
// re-authentication), a unit left out rather than a choice. The error names the setting and
// the unit that was probably meant.
func tooShort(setting string, d, least time.Duration, unit, hint string) error {
	if d <= 0 || d >= least {
		return nil
	}
	return fmt.Errorf("%w: %s is %v, under %v: a time.Duration counts nanoseconds; did you mean %d * %s?%s",
		ErrConfig, setting, d, least, int64(d), unit, hint)
}

// MustNew is like [New] but panics, for setup code like regexp.MustCompile.
func MustNew(cfg Config) *Verifier {
	v, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return v
}

// instant is a moment as a check reads it, once: wall is the wall clock of the moment (Unix
// nanoseconds), which Ory's times (expires_at, authenticated_at, a factor's completion) are
// compared with; mono is the monotonic clock (nanoseconds since the verifier was built),
// which the cache's TTL runs on. A wall-clock step (NTP at boot, a resume from suspend) moves
// the first and not the second: a session's age is measured as Ory measures it, and a cache
// entry lives its TTL, never longer.
type instant struct{ wall, mono int64 }

// at reads the clock once. A time from time.Now carries a monotonic reading, which Sub uses;
// a test clock's times may carry none, and then both readings follow the test clock.
func (v *Verifier) at() instant {
	t := v.now()
	return instant{wall: t.UnixNano(), mono: int64(t.Sub(v.started))}
}

// parseBaseURL checks that s is an absolute http(s) URL that Ory URLs can be appended to:
// a host, a valid port, no user info, query or fragment (not even an empty "?" or "#"), and
// no byte that would have to be escaped.
func parseBaseURL(setting, s string) (*url.URL, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %q %s; it must be an absolute http(s) URL like https://example.com", ErrConfig, setting, s, why)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return nil, bad("contains a space, control or non-ASCII character")
		}
	}
	if strings.ContainsAny(s, "?#") {
		return nil, bad("has a query or fragment")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, bad(fmt.Sprintf("does not parse (%v)", err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, bad("is not http or https")
	}
	if u.Hostname() == "" {
		return nil, bad("has no host")
	}
	if u.User != nil {
		return nil, bad("has user info")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, bad("has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, bad("has an empty port")
	}
	return u, nil
}

// loopback reports whether the URL's host is localhost or a loopback address.
func loopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.IsLoopback()
	}
	return strings.EqualFold(h, "localhost")
}

// cmpOr returns v unless it is the zero value, else def (cmp.Or for two values, also for
// pointers).
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

var (
	defaultMu        sync.Mutex
	defaultVerifiers = map[string]*Verifier{}
)

// Default returns the Verifier configured from the environment (ORY_SDK_URL), shared by all
// guards built without an explicit Verifier so they share one cache.
func Default() (*Verifier, error) {
	sdk := os.Getenv(EnvSDKURL)
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if v, ok := defaultVerifiers[sdk]; ok {
		return v, nil
	}
	v, err := New(Config{SDKURL: sdk})
	if err != nil {
		return nil, err
	}
	defaultVerifiers[sdk] = v
	return v, nil
}
