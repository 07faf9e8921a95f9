package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	ory "github.com/ory/client-go"
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
	// APIClient is used for whoami when set; otherwise one is built for SDKURL.
	APIClient *ory.APIClient
	// Timeout bounds each whoami call (default 5s), whichever client is used.
	Timeout time.Duration
	// CookieNames are the exact names of Ory session cookies (default ory_kratos_session).
	CookieNames []string
	// CookiePrefixes match Ory Network's ory_session_<slug> cookies (default ory_session_).
	CookiePrefixes []string
	// DisableBearer stops reading "Authorization: Bearer" as an Ory session token, for apps
	// whose bearer tokens are something else.
	DisableBearer bool
	// AppURL is the app's public origin (scheme://host[:port]) used for return_to. When empty
	// the request's own scheme and Host are used.
	AppURL string
	// TrustForwardedHeaders uses X-Forwarded-Proto and X-Forwarded-Host for return_to when
	// AppURL is empty. Only set it behind a proxy that overwrites them.
	TrustForwardedHeaders bool
	// Enforcement tells how the project answers whoami; see [Strict] (the default).
	Enforcement Enforcement
	// Logger receives errors talking to Ory (default slog.Default()).
	Logger *slog.Logger
	// OnError, when set, observes every error talking to Ory instead of the log.
	OnError func(ctx context.Context, err error)
	// Cache configures the session cache; see [CacheConfig].
	Cache CacheConfig
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Verifier asks Ory for sessions. It is safe for concurrent use; create one per app and share
// it between guards (the default one is shared already).
type Verifier struct {
	ory        *ory.APIClient
	browserURL string // no trailing slash
	appURL     *url.URL
	trustFwd   bool
	names      credentialNames
	timeout    time.Duration
	enforce    Enforcement
	onError    func(context.Context, error)
	now        func() time.Time
	sessions   *sessionStore
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("orymfa: invalid configuration")

// New checks cfg and builds a Verifier. Errors name the setting at fault and wrap [ErrConfig].
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{
		trustFwd: cfg.TrustForwardedHeaders,
		timeout:  cfg.Timeout,
		enforce:  cfg.Enforcement,
		onError:  cfg.OnError,
		now:      cfg.Now,
		names: credentialNames{
			cookieNames:    cfg.CookieNames,
			cookiePrefixes: cfg.CookiePrefixes,
			bearer:         !cfg.DisableBearer,
		},
	}
	if v.timeout <= 0 {
		v.timeout = 5 * time.Second
	}
	if v.names.cookieNames == nil {
		v.names.cookieNames = defaultCredentialNames.cookieNames
	}
	if v.names.cookiePrefixes == nil {
		v.names.cookiePrefixes = defaultCredentialNames.cookiePrefixes
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.onError == nil {
		logger := cfg.Logger
		if logger == nil {
			logger = slog.Default()
		}
		v.onError = func(ctx context.Context, err error) {
			logger.ErrorContext(ctx, "orymfa: cannot verify the Ory session", "error", err)
		}
	}
	if cfg.Enforcement < Strict || cfg.Enforcement > LaxEnroll {
		return nil, fmt.Errorf("%w: Enforcement %d is not Strict, LaxStepUp or LaxEnroll", ErrConfig, cfg.Enforcement)
	}

	sdkURL := cfg.SDKURL
	if cfg.APIClient != nil {
		v.ory = cfg.APIClient
		if sdkURL == "" && len(cfg.APIClient.GetConfig().Servers) > 0 {
			sdkURL = cfg.APIClient.GetConfig().Servers[0].URL
		}
	}
	if sdkURL == "" {
		return nil, fmt.Errorf("%w: the Ory SDK URL is not set (set %s or Config.SDKURL)", ErrConfig, EnvSDKURL)
	}
	if _, err := parseBaseURL("SDKURL", sdkURL); err != nil {
		return nil, err
	}
	if v.ory == nil {
		v.ory = newAPIClient(sdkURL)
	}
	browser := cfg.BrowserURL
	if browser == "" {
		browser = sdkURL
	}
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
	}
	for _, n := range v.names.cookieNames {
		if !validCookieName(n) {
			return nil, fmt.Errorf("%w: CookieNames: %q is not a cookie name", ErrConfig, n)
		}
	}
	store, err := newSessionStore(cfg.Cache, v.now)
	if err != nil {
		return nil, err
	}
	v.sessions = store
	return v, nil
}

// MustNew is like [New] but panics, for setup code like regexp.MustCompile.
func MustNew(cfg Config) *Verifier {
	v, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return v
}

// parseBaseURL checks that s is an absolute http(s) URL without query or fragment.
func parseBaseURL(setting, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", ErrConfig, setting, s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %s %q must be an absolute http(s) URL like https://example.com", ErrConfig, setting, s)
	}
	return u, nil
}

// maxWhoamiBody bounds what is read of Ory's answer; a real session is a few kilobytes.
const maxWhoamiBody = 1 << 20

// newAPIClient builds an Ory client whose transport refuses oversized answers: client-go reads
// the whole body into memory, and a lying or broken upstream must not exhaust ours.
func newAPIClient(sdkURL string) *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: strings.TrimRight(sdkURL, "/")}}
	cfg.UserAgent = "orymfa"
	cfg.HTTPClient = &http.Client{
		Transport: limitedTransport{base: http.DefaultTransport},
		// Never follow redirects: whoami does not redirect, and following one could send the
		// session cookie to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return ory.NewAPIClient(cfg)
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
