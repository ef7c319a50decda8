package localstack

import (
	"net/url"
	"regexp"
	"strings"
)

// Idempotency tokens, as AWS honours them and moto does not: a create repeated with the token
// of an earlier successful one (EC2 ClientToken, ECS clientToken, Cloud Map CreatorRequestId,
// Secrets Manager ClientRequestToken, App Mesh clientToken) gets the earlier answer and makes
// nothing. Without this, the SDK's retry of a create whose answer was lost would make a second
// resource on moto where AWS makes none.

var jsonToken = regexp.MustCompile(`"(?:clientToken|ClientToken|CreatorRequestId|ClientRequestToken)"\s*:\s*"([^"]+)"`)

func (c call) tokenKey() string {
	if !strings.HasPrefix(c.op, "Create") {
		return ""
	}
	token := ""
	if c.protocol == "ec2" || c.protocol == "query" {
		if form, err := url.ParseQuery(string(c.body)); err == nil {
			token = form.Get("ClientToken")
		}
	} else if m := jsonToken.FindSubmatch(c.body); m != nil {
		token = string(m[1])
	}
	if token == "" {
		return ""
	}
	return c.service + ":" + c.op + " " + token
}

// replay returns the earlier answer to a create with the same idempotency token.
func (p *Proxy) replay(c call) (*recorder, bool) {
	key := c.tokenKey()
	if key == "" {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := p.faults.answers[key]
	return rec, ok
}

// keepAnswer remembers a successful create's answer under its idempotency token.
func (p *Proxy) keepAnswer(c call, rec *recorder) {
	key := c.tokenKey()
	if key == "" || rec.status >= 300 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.faults.answers[key]; !ok {
		p.faults.answers[key] = rec
	}
}
