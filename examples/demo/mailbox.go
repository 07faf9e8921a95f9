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
	Template string // e.g. login_code_valid
	Code     string
}

// Subject describes the mail by its template.
func (m mail) Subject() string {
	switch strings.TrimSuffix(m.Template, "_valid") {
	case "login_code":
		return "Your sign-in code"
	case "registration_code":
		return "Your sign-up code"
	case "verification_code":
		return "Verify your email address"
	case "recovery_code":
		return "Recover your account"
	}
	return strings.ReplaceAll(m.Template, "_", " ")
}

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
	// The code's key depends on the template: login_code, verification_code, recovery_code…
	for k, v := range body.TemplateData {
		var s string
		if strings.HasSuffix(k, "_code") && json.Unmarshal(v, &s) == nil && s != "" {
			m.Code = s
		}
	}
	b.mu.Lock()
	m.Seq = len(b.mails) + 1
	b.mails = append(b.mails, m)
	close(b.arrived)
	b.arrived = make(chan struct{})
	b.mu.Unlock()
	if m.Code != "" {
		fmt.Fprintf(b.log, "✉  %s for %s: %s\n", m.Subject(), m.To, m.Code)
	} else {
		fmt.Fprintf(b.log, "✉  %s for %s\n", m.Subject(), m.To)
	}
	w.WriteHeader(http.StatusNoContent)
}

// list returns the mails, newest first.
func (b *mailbox) list() []mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]mail, len(b.mails))
	for i, m := range b.mails {
		out[len(out)-1-i] = m
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
