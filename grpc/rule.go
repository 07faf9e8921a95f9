package orymfa

import (
	"fmt"
	"strings"

	"github.com/orymfa/orymfa/core"
)

// Rule is a guard and the methods it applies to. Build it with [RequireSession] or
// [RequireAAL2], narrow it with [ForMethods], and pass it to [UnaryServerInterceptor] and
// [StreamServerInterceptor]. The zero Rule is not usable: the interceptors panic on it.
type Rule struct {
	guard *core.Guard
	names []string // full methods, or services ending in "/"; nil: every method
}

// RequireSession is a rule that lets a call through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) Rule { return newRule(core.RequireSession, opts) }

// RequireAAL2 is a rule that lets a call through only with an aal2 session (and, with
// [WithMaxAge], a recently proven second factor). It panics at setup when the configuration
// is invalid.
func RequireAAL2(opts ...Option) Rule { return newRule(core.RequireAAL2, opts) }

func newRule(require core.Requirement, opts []Option) Rule {
	// A call cannot be redirected: denials are always API answers.
	guard := append(collect(opts).guard, core.WithMode(core.ModeAPI))
	return Rule{guard: core.MustGuard(require, guard...)}
}

// ForMethods returns r applied to the named methods only: each is a full method
// ("/pkg.Service/Method", as grpc.UnaryServerInfo.FullMethod names it) or a whole service
// ("/pkg.Service/"). It panics at setup on a malformed name, on no names, and on a rule that
// ForMethods narrowed already.
func ForMethods(r Rule, methods ...string) Rule {
	if r.guard == nil {
		panic("orymfa: ForMethods: the rule is the zero Rule; build it with RequireSession or RequireAAL2")
	}
	if r.names != nil {
		panic("orymfa: ForMethods: the rule is already limited to methods; list them all in one call")
	}
	if len(methods) == 0 {
		panic("orymfa: ForMethods: no methods given; a rule for every method needs no ForMethods")
	}
	for _, m := range methods {
		if err := checkName(m); err != nil {
			panic(fmt.Sprintf("orymfa: ForMethods: %v", err))
		}
	}
	r.names = append([]string(nil), methods...)
	return r
}

// checkName accepts "/pkg.Service/Method" and "/pkg.Service/".
func checkName(n string) error {
	service, method, ok := strings.Cut(strings.TrimPrefix(n, "/"), "/")
	if !strings.HasPrefix(n, "/") || !ok || service == "" || strings.Contains(method, "/") || strings.ContainsAny(n, " \t\r\n") {
		return fmt.Errorf("%q is neither a full method (/pkg.Service/Method) nor a service (/pkg.Service/)", n)
	}
	return nil
}

// matches reports whether the rule applies to the full method.
func (r *Rule) matches(fullMethod string) bool {
	if r.names == nil {
		return true
	}
	for _, n := range r.names {
		if n == fullMethod || n[len(n)-1] == '/' && strings.HasPrefix(fullMethod, n) {
			return true
		}
	}
	return false
}

// rules is the checked list an interceptor applies.
type rules []Rule

func newRules(rs []Rule) rules {
	for i, r := range rs {
		if r.guard == nil {
			panic(fmt.Sprintf("orymfa: rule %d is the zero Rule; build it with RequireSession or RequireAAL2", i))
		}
	}
	return append(rules(nil), rs...)
}
