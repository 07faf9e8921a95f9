package kratostest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Message is one email Kratos handed to the HTTP courier.
type Message struct {
	Recipient    string
	TemplateType string // e.g. login_code_valid
	Code         string // the one-time code in the template data, if any
	Flow         string // the flow that sent it, from the transient payload loginCode submits
	consumed     bool
}

// courier is the HTTP sink Kratos delivers its emails to (courier.delivery_strategy: http).
type courier struct {
	mu       sync.Mutex
	messages []*Message
	arrived  chan struct{} // closed and replaced whenever a message arrives
}

func newCourier() *courier { return &courier{arrived: make(chan struct{})} }

// ServeHTTP stores one message as shaped by courierBody.
func (c *courier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Recipient    string                     `json:"recipient"`
		TemplateType string                     `json:"template_type"`
		TemplateData map[string]json.RawMessage `json:"template_data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := &Message{Recipient: strings.ToLower(body.Recipient), TemplateType: body.TemplateType}
	// The code's key depends on the template: login_code, verification_code, recovery_code,
	// registration_code. Each template carries exactly one.
	for k, v := range body.TemplateData {
		var s string
		if strings.HasSuffix(k, "_code") && json.Unmarshal(v, &s) == nil && s != "" {
			m.Code = s
		}
	}
	var payload struct {
		Flow string `json:"orymfa_flow"`
	}
	if v, ok := body.TemplateData["transient_payload"]; ok && json.Unmarshal(v, &payload) == nil {
		m.Flow = payload.Flow
	}
	c.mu.Lock()
	c.messages = append(c.messages, m)
	close(c.arrived)
	c.arrived = make(chan struct{})
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// WaitForCode waits until Kratos has sent a one-time code to email that no earlier call
// returned, and returns the newest such code; older unread codes for the address are dropped,
// since Kratos accepts only the code of the current flow. ctx bounds the wait (the courier
// looks at its queue every 100 ms, see writeConfig).
func (p *Project) WaitForCode(ctx context.Context, email string) (string, error) {
	return p.courier.wait(ctx, email, "", "")
}

// wait returns the newest unread code for email, of the template and sent by the flow when
// they are given, waiting for one to arrive. A login flow's code is matched by its flow id,
// which loginCode sends along as the transient payload: Kratos's courier re-queues a mail
// whose delivery it thinks failed, so a late copy of an earlier flow's code can arrive after
// a later flow asked for its own, and only the flow id tells them apart.
func (c *courier) wait(ctx context.Context, email, template, flow string) (string, error) {
	email = strings.ToLower(email)
	for {
		c.mu.Lock()
		code := ""
		for _, m := range c.messages {
			if m.Recipient == email && m.Code != "" && !m.consumed && (template == "" || m.TemplateType == template) && (flow == "" || m.Flow == flow) {
				m.consumed = true
				code = m.Code
			}
		}
		arrived := c.arrived
		c.mu.Unlock()
		if code != "" {
			return code, nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return "", fmt.Errorf("kratostest: no code for %s: %w", email, ctx.Err())
		}
	}
}

// Messages returns a copy of every message the courier delivered so far.
func (p *Project) Messages() []Message {
	c := p.courier
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Message, 0, len(c.messages))
	for _, m := range c.messages {
		out = append(out, Message{Recipient: m.Recipient, TemplateType: m.TemplateType, Code: m.Code})
	}
	return out
}
