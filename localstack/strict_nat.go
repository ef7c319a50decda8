package localstack

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// What the NAT gateway rules of the strict layer read from EC2's answers and write into them.

// natFailureFields are what AWS adds to a failed gateway (EC2 API Reference, NatGateway).
const natFailureFields = "<failureCode>InternalError</failureCode><failureMessage>Network interface eni-00000000, created and used internally by this NAT gateway is in an invalid state. Please try again.</failureMessage>"

type natAddress struct{ allocation, association string }

// natItem is one gateway of a CreateNatGateway or DescribeNatGateways answer.
type natItem struct {
	ID        string `xml:"natGatewayId"`
	State     string `xml:"state"`
	Addresses []struct {
		Allocation  string `xml:"allocationId"`
		Association string `xml:"associationId"`
	} `xml:"natGatewayAddressSet>item"`
}

func natItems(answer []byte) []natItem {
	var doc struct {
		One  *natItem  `xml:"natGateway"`
		Many []natItem `xml:"natGatewaySet>item"`
	}
	if xml.Unmarshal(answer, &doc) != nil {
		return nil
	}
	if doc.One != nil {
		return append(doc.Many, *doc.One)
	}
	return doc.Many
}

var natIDElement = regexp.MustCompile(`<natGatewayId>(nat-[0-9a-f]+)</natGatewayId>`)

// natIDOf is the first gateway an answer names.
func natIDOf(answer []byte) string {
	if m := natIDElement.FindSubmatch(answer); m != nil {
		return string(m[1])
	}
	return ""
}

// learnNATs notes the address of each gateway an answer shows.
func (s *strictState) learnNATs(answer []byte) {
	for _, n := range natItems(answer) {
		if len(n.Addresses) > 0 && n.Addresses[0].Allocation != "" {
			s.natAddresses[n.ID] = natAddress{allocation: n.Addresses[0].Allocation, association: n.Addresses[0].Association}
		}
	}
}

// setNATState rewrites the state of gateway id in an answer (the first <state> after its ID,
// before the next gateway's), with extra elements after it.
func setNATState(answer []byte, id, state, extra string) []byte {
	at := bytes.Index(answer, []byte("<natGatewayId>"+id+"</natGatewayId>"))
	if at < 0 {
		return answer
	}
	end := len(answer)
	if next := natIDElement.FindIndex(answer[at+1:]); next != nil {
		end = at + 1 + next[0]
	}
	open := bytes.Index(answer[at:end], []byte("<state>"))
	if open < 0 {
		return answer
	}
	open += at
	closing := bytes.Index(answer[open:end], []byte("</state>"))
	if closing < 0 {
		return answer
	}
	closing += open + len("</state>")
	out := append([]byte{}, answer[:open]...)
	out = append(out, "<state>"+state+"</state>"+extra...)
	return append(out, answer[closing:]...)
}

// takeFrees hands over the associations to drop.
func (s *strictState) takeFrees() []string {
	out := s.frees
	s.frees = nil
	return out
}

// freeAddresses drops address associations in the emulator, as AWS does when a NAT gateway is
// deleted (moto keeps them, so the address could never be used again). auth is the caller's
// Authorization header: the emulator routes by its service and region.
func (p *Proxy) freeAddresses(auth string, associations []string) {
	for _, id := range associations {
		form := url.Values{"Action": {"DisassociateAddress"}, "Version": {"2016-11-15"}, "AssociationId": {id}}
		req, err := http.NewRequest(http.MethodPost, p.upstream.String(), strings.NewReader(form.Encode()))
		if err != nil {
			continue
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", auth)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}
