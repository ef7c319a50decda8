package localstack

import (
	"context"
	"net/http"
	"sync"

	"github.com/tapctl/tapctl/cloud"
)

// Kill points: the proxy counts the mutating calls the emulator carried out (a 2xx answer to an
// operation cloud.IsMutating names) and keeps a journal of them. A test can arm a kill point:
// right after the k-th such call's answer has come back from the emulator, and before the proxy
// writes it to tapctl, the proxy calls the test's hook (which SIGKILLs tapctl's process). The
// answer is then dropped, so tapctl never learns that AWS did the work: the state write for that
// call is missing, the hard case for a crash-safe tool.
//
// Operations are named as timing.go's operation() names them (X-Amz-Target or Action=): the
// JSON and query protocols. REST protocols (App Mesh) carry no operation name and are not counted.
//
// timed() calls carryOut before a call goes upstream and countMutating after.

// Carried is one mutating call the emulator carried out: its operation and its answer.
type Carried struct {
	Operation string
	Answer    []byte
}

type killPoint struct {
	mu      sync.Mutex
	counted int // mutating calls carried out since the kill point was last armed
	at      int // the call after which hook fires; 0: never
	hook    func(operation string)
	then    afterHook // what becomes of the answer once hook has run
	journal []Carried

	inFlight int        // calls passed on to the emulator and not yet answered
	idle     *sync.Cond // signalled when inFlight drops to 0
	settled  bool       // Settle was called: nothing more goes through
}

// afterHook is what becomes of the answer of the call the kill point fired at.
type afterHook int

const (
	dropAnswer         afterHook = iota // KillAfterMutating
	holdThenDropAnswer                  // HoldAfterMutating: until the client hangs up
	deliverAnswer                       // PauseAfterMutating
)

func newKillPoint() *killPoint {
	kp := &killPoint{}
	kp.idle = sync.NewCond(&kp.mu)
	return kp
}

// KillAfterMutating arms the kill point: hook runs after the k-th mutating call carried out
// from now on, before its answer goes back; the answer is then dropped. hook runs once.
func (p *Proxy) KillAfterMutating(k int, hook func(operation string)) {
	p.armKillPoint(k, hook, dropAnswer)
}

// HoldAfterMutating arms the kill point so that the answer of the k-th mutating call carried out
// from now on is held: hook runs (a test sends tapctl a signal), then the proxy waits until the
// client hangs up, and the answer is dropped. tapctl is thus interrupted while a call is in
// flight, at a point the test chooses, with no sleep. hook runs once.
func (p *Proxy) HoldAfterMutating(k int, hook func(operation string)) {
	p.armKillPoint(k, hook, holdThenDropAnswer)
}

// PauseAfterMutating arms the kill point so that the k-th mutating call carried out from now on
// waits for hook before its answer goes back, and then gets it: tapctl is paused in the middle
// of its run (holding its lock) for as long as hook runs. hook runs once.
func (p *Proxy) PauseAfterMutating(k int, hook func(operation string)) {
	p.armKillPoint(k, hook, deliverAnswer)
}

func (p *Proxy) armKillPoint(k int, hook func(operation string), then afterHook) {
	kp := p.kill
	kp.mu.Lock()
	defer kp.mu.Unlock()
	kp.counted, kp.at, kp.hook, kp.then = 0, k, hook, then
}

// MutatingCarriedOut is the number of mutating calls carried out since the kill point was last
// armed (or since the proxy started).
func (p *Proxy) MutatingCarriedOut() int {
	kp := p.kill
	kp.mu.Lock()
	defer kp.mu.Unlock()
	return kp.counted
}

// Journal lists every mutating call carried out through the proxy, in the order the answers
// came back.
func (p *Proxy) Journal() []Carried {
	kp := p.kill
	kp.mu.Lock()
	defer kp.mu.Unlock()
	return append([]Carried(nil), kp.journal...)
}

// countMutating is called by timed() with each answer from the emulator, before it is written
// back; clientGone is closed when the caller hangs up. When an armed kill or hold point fires it
// does not return: the handler is aborted, so the connection is cut without an answer.
func (p *Proxy) countMutating(op string, status int, answer []byte, clientGone <-chan struct{}) {
	kp := p.kill
	kp.mu.Lock()
	kp.inFlight--
	if kp.inFlight == 0 {
		kp.idle.Broadcast()
	}
	if op == "" || !cloud.IsMutating(op) || status < 200 || status > 299 {
		kp.mu.Unlock()
		return
	}
	kp.journal = append(kp.journal, Carried{Operation: op, Answer: append([]byte(nil), answer...)})
	kp.counted++
	var hook func(string)
	then := dropAnswer
	if kp.at > 0 && kp.counted == kp.at {
		hook, then, kp.hook, kp.at = kp.hook, kp.then, nil, 0
	}
	kp.mu.Unlock()
	if hook == nil {
		return
	}
	hook(op)
	switch then {
	case deliverAnswer:
		return
	case holdThenDropAnswer:
		<-clientGone
	}
	panic(http.ErrAbortHandler)
}

// carryOut is called by timed() before a call goes to the emulator. It detaches the call from
// the caller's connection: AWS carries out a request it received even when the caller dies
// before the answer, so a killed tapctl's calls in flight still happen (and land in the
// journal). Once the proxy is settled (Settle) a call that arrives late is dropped, as a request
// still in a dead process's socket never reaches AWS.
func (p *Proxy) carryOut(r *http.Request) *http.Request {
	kp := p.kill
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if kp.settled {
		panic(http.ErrAbortHandler)
	}
	kp.inFlight++
	return r.WithContext(context.WithoutCancel(r.Context()))
}

// Settle closes the proxy and waits until every call it had passed on has been carried out, so
// nothing a killed process sent reaches AWS after the test has moved on.
func (p *Proxy) Settle() {
	kp := p.kill
	kp.mu.Lock()
	kp.settled = true
	kp.mu.Unlock()
	p.Close()
	kp.mu.Lock()
	defer kp.mu.Unlock()
	for kp.inFlight > 0 {
		kp.idle.Wait()
	}
}
