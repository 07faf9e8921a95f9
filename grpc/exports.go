// This file is the same in every adapter package (a test in the repository's test module,
// internal/typesafe, checks it): what an adapter's users need from package core.

package orymfa

import "github.com/orymfa/orymfa/core"

// What users of this adapter need from package core, so that one import covers the
// configured case too. Each name is the core's own (the same type, the same value).
type (
	// Config configures a [Verifier]: the Ory URL, the cache, the app's origin and more.
	Config = core.Config
	// CacheConfig configures the session cache.
	CacheConfig = core.CacheConfig
	// Verifier asks Ory for sessions; share one between guards.
	Verifier = core.Verifier
	// Decision is a guard's answer for one request, as a deny handler receives it.
	Decision = core.Decision
	// Outcome is what the guard decided: Allow, Login, StepUp, Refresh, Enroll, Unavailable.
	Outcome = core.Outcome
	// Mode chooses how denials are rendered.
	Mode = core.Mode
	// Enforcement says how the Ory project answers whoami: Strict, LaxStepUp or LaxEnroll.
	Enforcement = core.Enforcement
	// UnavailableError tells why Ory gave no usable answer.
	UnavailableError = core.UnavailableError
	// Observer is told about every decision, whoami call and cache event.
	Observer = core.Observer
	// TokenConfig turns on the local verification of Ory's session JWTs (Config.Tokens).
	TokenConfig = core.TokenConfig
	// TokenError says why a session JWT was refused.
	TokenError = core.TokenError
)

// Modes: see core.ModeAuto.
const (
	ModeAuto    = core.ModeAuto
	ModeBrowser = core.ModeBrowser
	ModeAPI     = core.ModeAPI
)

// Enforcements: see core.Strict.
const (
	Strict    = core.Strict
	LaxStepUp = core.LaxStepUp
	LaxEnroll = core.LaxEnroll
)

// Outcomes: see core.Allow.
const (
	Allow       = core.Allow
	Login       = core.Login
	StepUp      = core.StepUp
	Refresh     = core.Refresh
	Enroll      = core.Enroll
	Unavailable = core.Unavailable
)

// The errors a denial wraps (test with errors.Is), and the configuration error.
var (
	ErrNoSession       = core.ErrNoSession
	ErrAAL2Required    = core.ErrAAL2Required
	ErrNoSecondFactor  = core.ErrNoSecondFactor
	ErrRefreshRequired = core.ErrRefreshRequired
	ErrUnavailable     = core.ErrUnavailable
	ErrInvalidToken    = core.ErrInvalidToken
	ErrConfig          = core.ErrConfig
)

// New checks cfg and builds a Verifier (see core.New).
func New(cfg Config) (*Verifier, error) { return core.New(cfg) }

// MustNew is like New but panics, for setup code (see core.MustNew).
func MustNew(cfg Config) *Verifier { return core.MustNew(cfg) }
