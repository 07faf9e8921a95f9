package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-freelru"
)

// mintMargin is how long before its exp a minted JWT stops being handed out: a token must
// still be valid when the downstream service checks it.
const mintMargin = 30 * time.Second

// tokenMinter gets JWTs of sessions from Ory (whoami?tokenize_as=<template>) for
// [Verifier.SessionJWT], and keeps those of browser sessions until shortly before they expire.
type tokenMinter struct {
	template string
	size     uint32 // 0: no cache
	init     sync.Once
	lru      atomic.Pointer[freelru.ShardedLRU[credKey, mintedToken]]
}

type mintedToken struct {
	jwt   string
	until int64 // Unix nanoseconds: exp - mintMargin
}

func newTokenMinter(tc TokenConfig, cache CacheConfig) *tokenMinter {
	m := &tokenMinter{template: cmpOr(tc.Template, defaultTokenTemplate)}
	if !cache.Disabled {
		m.size = uint32(min(cmpOr(cache.MaxEntries, defaultCacheEntries), math.MaxUint32/2))
	}
	return m
}

// SessionJWT returns a JWT of the request's Ory session, minted by Ory with the template of
// Config.Tokens (default "orymfa"), for the app to forward the user's identity to services
// that verify it (as Oathkeeper's id_token mutator does). Ory checks the session (and its AAL,
// as whoami does) before it mints: the errors are those of a guard, ErrNoSession,
// ErrAAL2Required or an *UnavailableError. The whoami call has the verifier's safety rules
// (timeout, no redirects, capped answer).
//
// A browser session's JWT is cached under its cookie until 30 s before it expires (the cookie
// changes on every login and step-up, so a cached JWT never hides a newer AAL); a session
// token's is minted on every call, since the same token may have stepped up since. A request
// whose bearer credential is already a valid JWT (in JWT mode) gets that JWT back.
func (v *Verifier) SessionJWT(ctx context.Context, r *Request) (string, error) {
	if v.tokens != nil {
		if jwt, sig, ok := v.tokens.bearerJWT(r); ok {
			key, err := v.tokens.keyOf(jwt, sig)
			if err == nil {
				_, err = v.tokens.verify(ctx, v, jwt, key, v.tokenNow())
			}
			if err != nil {
				return "", err
			}
			return jwt, nil
		}
	}
	cred := v.names.extract(r)
	if cred.isZero() {
		return "", ErrNoSession
	}
	m := v.minter
	key := cred.key()
	byCookie := cred.kind() == byCookie && m.size > 0
	if byCookie {
		if lru := m.lru.Load(); lru != nil {
			if t, ok := lru.Get(key); ok && v.tokenNow() < t.until {
				return t.jwt, nil
			}
		}
	}
	clean, ok := cred.sanitized()
	if !ok {
		return "", ErrNoSession
	}
	jwt, exp, err := v.mint(ctx, clean, m.template)
	if err != nil {
		return "", err
	}
	if byCookie {
		m.init.Do(func() {
			lru, err := freelru.NewSharded[credKey, mintedToken](m.size, credKey.hash32)
			if err != nil {
				panic(err) // the size is bounded in newTokenMinter
			}
			m.lru.Store(lru)
		})
		m.lru.Load().Add(key, mintedToken{jwt: jwt, until: exp - int64(mintMargin)})
	}
	return jwt, nil
}

// mint asks Ory for a JWT of cred's session and returns it with its exp (Unix nanoseconds).
func (v *Verifier) mint(ctx context.Context, cred credential, template string) (string, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	sess, resp, err := v.toSession(ctx, cred).TokenizeAs(template).Execute()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if _, err := v.classify(ctx, sess, resp, err); err != nil {
		if resp != nil && resp.StatusCode == 400 {
			// Kratos's 400 here is a template it does not have or cannot use.
			err = badGateway(fmt.Sprintf("Ory cannot mint with the tokenizer template %q", template), err)
		}
		if unavailable(err) != nil {
			v.report(ctx, err)
		}
		return "", 0, err
	}
	jwt := sess.GetTokenized()
	exp, err := unverifiedExpiry(jwt)
	if err != nil {
		err = badGateway("whoami?tokenize_as returned no usable JWT", err)
		v.report(ctx, err)
		return "", 0, err
	}
	return jwt, exp, nil
}

// unverifiedExpiry reads exp from a JWT Ory just minted, checking that it outlives iat: a
// template without ttl mints tokens that are born expired.
func unverifiedExpiry(jwt string) (int64, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return 0, errors.New("not a compact JWS")
	}
	b, err := base64URL(parts[1])
	if err != nil {
		return 0, err
	}
	var c struct {
		Exp, Iat *numericDate
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, err
	}
	if c.Exp == nil || c.Iat == nil || *c.Exp <= *c.Iat {
		return 0, errors.New("the token expires when it is issued: give the tokenizer template a ttl")
	}
	return int64(*c.Exp), nil
}
