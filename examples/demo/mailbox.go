package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// courierPath is where Kratos POSTs its emails (courier.delivery_strategy: http).
const courierPath = "/ui/courier"

// mail is one email Kratos sent.
type mail struct {
	Seq      int
	Time     time.Time
	To       string
	Template string // Kratos's template type, e.g. login_code_valid
	Code     string
	URL      string // the link in the mail, e.g. verification_url
	// Featured marks the newest sign-in code, which the mailbox shows first and largest.
	Featured bool
}

// purpose is what a kind of mail is for, by Kratos's template type.
type purpose struct {
	label, note, class string
}

var purposes = map[string]purpose{
	"login_code_valid":          {"Sign-in code", "Enter it on the sign-in or second factor page.", "sign-in"},
	"registration_code_valid":   {"Sign-up code", "Enter it on the sign-up page.", "sign-up"},
	"verification_code_valid":   {"Verify your email", "Confirms that you own this address. Not a sign-in code.", "verify"},
	"verification_valid":        {"Verify your email", "Confirms that you own this address.", "verify"},
	"verification_code_invalid": {"Verification for an unknown address", "Someone asked to verify an address that has no account.", "other"},
	"verification_invalid":      {"Verification for an unknown address", "Someone asked to verify an address that has no account.", "other"},
	"recovery_code_valid":       {"Recovery code", "Enter it on the account recovery page. Not a sign-in code.", "recovery"},
	"recovery_valid":            {"Recovery link", "Opens the account recovery.", "recovery"},
	"recovery_code_invalid":     {"Recovery for an unknown address", "Someone asked to recover an address that has no account.", "other"},
	"recovery_invalid":          {"Recovery for an unknown address", "Someone asked to recover an address that has no account.", "other"},
}

func (m mail) purpose() purpose {
	if p, ok := purposes[m.Template]; ok {
		return p
	}
	return purpose{label: strings.ReplaceAll(m.Template, "_", " "), class: "other"}
}

// Label says what the mail is for: "Sign-in code", "Verify your email", "Recovery code"…
func (m mail) Label() string { return m.purpose().label }

// Note says where its code goes, and where it does not.
func (m mail) Note() string { return m.purpose().note }

// Kind is the purpose as a CSS class: sign-in, sign-up, verify, recovery or other.
func (m mail) Kind() string { return m.purpose().class }

// mailbox keeps the emails in memory and prints each code to the terminal.
type mailbox struct {
	log     io.Writer
	mu      sync.Mutex
	mails   []mail
	arrived chan struct{} // closed and replaced when a mail arrives
}

func newMailbox(log io.Writer) *mailbox { return &mailbox{log: log, arrived: make(chan struct{})} }

// ServeHTTP receives one email from Kratos's HTTP courier.
func (b *mailbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Recipient    string                     `json:"recipient"`
		TemplateType string                     `json:"template_type"`
		TemplateData map[string]json.RawMessage `json:"template_data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "bad courier message", http.StatusBadRequest)
		return
	}
	m := mail{Time: time.Now(), To: body.Recipient, Template: body.TemplateType}
	// The keys depend on the template: login_code, verification_code, verification_url…
	// (request_url is the page that asked for the mail, not a link in it).
	for k, v := range body.TemplateData {
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			continue
		}
		switch {
		case strings.HasSuffix(k, "_code"):
			m.Code = s
		case strings.HasSuffix(k, "_url") && k != "request_url":
			m.URL = s
		}
	}
	b.mu.Lock()
	m.Seq = len(b.mails) + 1
	b.mails = append(b.mails, m)
	close(b.arrived)
	b.arrived = make(chan struct{})
	b.mu.Unlock()
	switch {
	case m.Code != "" && m.Kind() == "sign-in":
		fmt.Fprintf(b.log, "✉  %s for %s: %s\n", m.Label(), m.To, m.Code)
	case m.Code != "":
		fmt.Fprintf(b.log, "✉  %s for %s: %s (%s)\n", m.Label(), m.To, m.Code, m.Note())
	default:
		fmt.Fprintf(b.log, "✉  %s for %s\n", m.Label(), m.To)
	}
	w.WriteHeader(http.StatusNoContent)
}

// list returns the mails for the mailbox page: the newest sign-in code first (Featured), then
// the others, newest first. A person looking for the code the second factor step asks for
// finds it at the top, never a verification or recovery code.
func (b *mailbox) list() []mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]mail, 0, len(b.mails))
	featured := -1
	for i := len(b.mails) - 1; i >= 0; i-- {
		if m := b.mails[i]; m.Kind() == "sign-in" && m.Code != "" {
			m.Featured = true
			out = append(out, m)
			featured = i
			break
		}
	}
	for i := len(b.mails) - 1; i >= 0; i-- {
		if i != featured {
			out = append(out, b.mails[i])
		}
	}
	return out
}

// wait returns the first mail after seq to to with the given template, waiting for it until
// ctx ends. The browser test uses it to know when to open the mailbox page.
func (b *mailbox) wait(ctx context.Context, after int, to, template string) (mail, error) {
	for {
		b.mu.Lock()
		arrived := b.arrived
		for _, m := range b.mails[after:] {
			if strings.EqualFold(m.To, to) && m.Template == template {
				b.mu.Unlock()
				return m, nil
			}
		}
		b.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return mail{}, fmt.Errorf("no %s mail for %s: %w", template, to, ctx.Err())
		}
	}
}

// count returns how many mails arrived so far.
func (b *mailbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mails)
}
