package orymfa

import (
	"fmt"
	"strings"

	"github.com/orymfa/orymfa/core"
)

// Rule is a guard and the procedures it applies to. Build it with [RequireSession] or
// [RequireAAL2], narrow it with [ForProcedures], and pass it to [Interceptor]. The zero Rule
// is not usable: Interceptor panics on it.
type Rule struct {
	guard *core.Guard
	names []string // full procedures, or services ending in "/"; nil: every procedure
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

// ForProcedures returns r applied to the named procedures only: each is a full procedure
// ("/pkg.Service/Method", as connect.Spec.Procedure names it) or a whole service
// ("/pkg.Service/"). It panics at setup on a malformed name, on no names, and on a rule that
// ForProcedures narrowed already.
func ForProcedures(r Rule, procedures ...string) Rule {
	if r.guard == nil {
		panic("orymfa: ForProcedures: the rule is the zero Rule; build it with RequireSession or RequireAAL2")
	}
	if r.names != nil {
		panic("orymfa: ForProcedures: the rule is already limited to procedures; list them all in one call")
	}
	if len(procedures) == 0 {
		panic("orymfa: ForProcedures: no procedures given; a rule for every procedure needs no ForProcedures")
	}
	for _, m := range procedures {
		if err := checkName(m); err != nil {
			panic(fmt.Sprintf("orymfa: ForProcedures: %v", err))
		}
	}
	r.names = append([]string(nil), procedures...)
	return r
}

// checkName accepts "/pkg.Service/Method" and "/pkg.Service/".
func checkName(n string) error {
	service, method, ok := strings.Cut(strings.TrimPrefix(n, "/"), "/")
	if !strings.HasPrefix(n, "/") || !ok || service == "" || strings.Contains(method, "/") || strings.ContainsAny(n, " \t\r\n") {
		return fmt.Errorf("%q is neither a full procedure (/pkg.Service/Method) nor a service (/pkg.Service/)", n)
	}
	return nil
}

// matches reports whether the rule applies to the procedure.
func (r *Rule) matches(procedure string) bool {
	if r.names == nil {
		return true
	}
	for _, n := range r.names {
		if n == procedure || n[len(n)-1] == '/' && strings.HasPrefix(procedure, n) {
			return true
		}
	}
	return false
}

// rules is the checked list the interceptor applies.
type rules []Rule

func newRules(rs []Rule) rules {
	for i, r := range rs {
		if r.guard == nil {
			panic(fmt.Sprintf("orymfa: rule %d is the zero Rule; build it with RequireSession or RequireAAL2", i))
		}
	}
	return append(rules(nil), rs...)
}
