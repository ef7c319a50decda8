package state

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var bg = context.Background()

func TestParseS3URL(t *testing.T) {
	good := map[string]S3Location{
		"s3://my-state":            {Bucket: "my-state"},
		"s3://my-state/":           {Bucket: "my-state"},
		"s3://my-state/ci":         {Bucket: "my-state", Prefix: "ci"},
		"s3://my.state-1/a/b/":     {Bucket: "my.state-1", Prefix: "a/b"},
		"s3://abc/tapctl/pr_envs/": {Bucket: "abc", Prefix: "tapctl/pr_envs"},
	}
	for raw, want := range good {
		got, err := ParseS3URL(raw)
		if err != nil || got != want {
			t.Errorf("ParseS3URL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for raw, says := range map[string]string{
		"my-state":           "expected s3://BUCKET/PREFIX",
		"https://my-state/x": "expected s3://BUCKET/PREFIX",
		"s3://":              "names no bucket",
		"s3:///ci":           "names no bucket",
		"s3://My_State/ci":   "is not a bucket name",
		"s3://ab":            "is not a bucket name",
		"s3://a..b":          "is not a bucket name",
		"s3://-ab/ci":        "is not a bucket name",
		"s3://abc/a//b":      "no empty segments",
		"s3://abc/a?x=1":     "no empty segments",
		"s3://abc/a\nb":      "no empty segments",
	} {
		if _, err := ParseS3URL(raw); err == nil || !strings.Contains(err.Error(), says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseS3URL(%q) = %v, want one line saying %q", raw, err, says)
		}
	}
	if loc, _ := ParseS3URL("s3://bkt/p/q/"); loc.String() != "s3://bkt/p/q" || loc.key("e.json") != "p/q/e.json" {
		t.Errorf("String/key: %s %s", loc.String(), loc.key("e.json"))
	}
	if loc, _ := ParseS3URL("s3://bkt"); loc.key("e.json") != "e.json" {
		t.Errorf("key without prefix: %s", loc.key("e.json"))
	}
}

func TestS3StateRoundTripAndNoChangeWritesNothing(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, 0, time.Now)
	s, err := OpenIn(bg, b, "pr1")
	must(t, err)
	if s.Exists() || s.Path() != "s3://state-bucket/ci/pr1.json" {
		t.Fatalf("fresh store: exists=%v path=%s", s.Exists(), s.Path())
	}
	must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
	must(t, s.SetSetting("mesh", "none"))
	before := fake.callCount()
	must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
	must(t, s.SetSetting("mesh", "none"))
	if fake.callCount() != before {
		t.Errorf("no-change calls made %d S3 calls", fake.callCount()-before)
	}
	again, err := OpenIn(bg, b, "pr1")
	must(t, err)
	if r, _ := again.Get("vpc"); r.ID != "vpc-1" || again.Setting("mesh") != "none" || !again.Exists() {
		t.Errorf("reopened: %+v %q", r, again.Setting("mesh"))
	}
	must(t, again.Remove())
	if _, ok := fake.object("ci/pr1.json"); ok || again.Exists() {
		t.Error("Remove left the object")
	}
	must(t, again.Remove()) // missing is fine
}

// Two runs read the same state; the first to write wins, the second is refused with one line
// naming both objects, and neither loses anything: the first's state is the object, the
// second's is kept beside it, with every later change of that run.
func TestS3ConflictingWriteIsRefusedAndBothSidesKept(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, 0, time.Now)
	seed, err := OpenIn(bg, b, "pr1")
	must(t, err)
	must(t, seed.Put("vpc", Resource{ID: "vpc-1"}))

	first, err := OpenIn(bg, b, "pr1")
	must(t, err)
	second, err := OpenIn(bg, b, "pr1")
	must(t, err)
	must(t, first.Put("igw", Resource{ID: "igw-first"}))
	winner, _ := fake.object("ci/pr1.json")

	err = second.Put("nat", Resource{ID: "nat-second"})
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("conflicting Put = %v, want ErrChanged", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "s3://state-bucket/ci/pr1.json") || !strings.Contains(msg, "s3://state-bucket/ci/pr1.conflict-") {
		t.Errorf("conflict message: %q", msg)
	}
	// A later change of the refused run is refused too, and kept with the first.
	if err := second.Put("alb", Resource{ID: "alb-second"}); !errors.Is(err, ErrChanged) {
		t.Fatalf("second conflicting Put = %v", err)
	}
	if err := second.Remove(); !errors.Is(err, ErrChanged) {
		t.Fatalf("Remove after a conflict = %v", err)
	}
	if now, _ := fake.object("ci/pr1.json"); string(now.raw) != string(winner.raw) {
		t.Fatal("the refused run changed the state object")
	}
	var aside []fakeObject
	for key, o := range fake.objects {
		if strings.HasPrefix(key, "ci/pr1.conflict-") && strings.HasSuffix(key, ".json") {
			aside = append(aside, o)
		}
	}
	if len(aside) != 1 {
		t.Fatalf("%d conflict copies, want 1", len(aside))
	}
	var kept file
	must(t, json.Unmarshal(aside[0].raw, &kept))
	for _, key := range []string{"vpc", "nat", "alb"} {
		if _, ok := kept.Resources[key]; !ok {
			t.Errorf("the conflict copy lacks %s: %v", key, kept.Resources)
		}
	}
	won, err := OpenIn(bg, b, "pr1")
	must(t, err)
	if r, _ := won.Get("igw"); r.ID != "igw-first" {
		t.Errorf("the first run's write is gone: %v", won.Keys())
	}
}

// An object that appeared after the Store found none is not overwritten either.
func TestS3StateThatAppearedIsNotOverwritten(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, 0, time.Now)
	s, err := OpenIn(bg, b, "pr1")
	must(t, err)
	fake.set("ci/pr1.json", []byte(`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":"vpc-other"}}}`))
	if err := s.Put("vpc", Resource{ID: "vpc-mine"}); !errors.Is(err, ErrChanged) {
		t.Fatalf("Put over an object that appeared = %v", err)
	}
	if o, _ := fake.object("ci/pr1.json"); !strings.Contains(string(o.raw), "vpc-other") {
		t.Error("overwritten")
	}
}

// The SDK resends a put whose answer was lost; the resent one meets its own first copy (412).
// That is this run's write, not a conflict.
func TestS3ResentWriteIsRecognisedAsOurOwn(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, 0, time.Now)
	s, err := OpenIn(bg, b, "pr1")
	must(t, err)
	fake.loseNextPutAnswer = true
	must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
	fake.loseNextPutAnswer = true
	must(t, s.Put("igw", Resource{ID: "igw-1"}))
	must(t, s.Put("nat", Resource{ID: "nat-1"})) // the adopted version is the current one
	again, err := OpenIn(bg, b, "pr1")
	must(t, err)
	if len(again.Keys()) != 3 {
		t.Errorf("keys %v", again.Keys())
	}
}

func TestS3UnreadableStateIsRefusedAndKept(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":     `{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":`,
		"newer schema":  `{"schemaVersion":7,"env":"pr1","resources":{}}`,
		"other env":     `{"schemaVersion":1,"env":"pr2","resources":{}}`,
		"empty":         ``,
		"not json":      `<html>`,
		"resource null": `{"schemaVersion":1,"env":"pr1","resources":{"vpc":null}}`,
	} {
		t.Run(name, func(t *testing.T) {
			fake := newFakeS3(time.Now)
			b := fakeBackend(fake, 0, time.Now)
			fake.set("ci/pr1.json", []byte(content))
			_, err := OpenIn(bg, b, "pr1")
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerSchema) {
				t.Fatalf("Open = %v", err)
			}
			if !strings.Contains(err.Error(), "s3://state-bucket/ci/pr1.json") || strings.Contains(err.Error(), "\n") {
				t.Errorf("message: %q", err)
			}
			for _, call := range fake.calls {
				if !strings.HasPrefix(call, "GetObject") {
					t.Errorf("a refused state made %s", call)
				}
			}
		})
	}
}

func TestS3HeldLockIsRefusedNamingTheHolderInTwoCalls(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, time.Minute, time.Now)
	held, err := AcquireIn(bg, b, "pr1")
	must(t, err)
	defer held.Release()

	before := fake.callCount()
	start := time.Now()
	_, err = AcquireIn(bg, b, "pr1")
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Acquire = %v, want *LockedError", err)
	}
	if calls := fake.callCount() - before; calls != 2 {
		t.Errorf("the refused Acquire made %d calls, want 2 (the conditional put, the read)", calls)
	}
	t.Logf("refused in %s: %s", time.Since(start), err)
	me := whoAmI()
	h := locked.Holder
	if h.Holder != me.Holder || h.PID != me.PID || h.Started.IsZero() || h.Expires.IsZero() || h.Where != "s3://state-bucket/ci/pr1.lock" {
		t.Errorf("holder = %+v", h)
	}
	msg := err.Error()
	for _, want := range []string{"environment pr1 is in use by another tapctl", me.Holder, "since ", "leased until", "tapctl unlock --env pr1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is more than one line: %q", msg)
	}
	if other, err := AcquireIn(bg, b, "pr2"); err != nil {
		t.Errorf("another environment is blocked: %v", err)
	} else {
		must(t, other.Release())
	}
	must(t, held.Release())
	must(t, held.Release()) // twice is harmless
	if _, ok := fake.object("ci/pr1.lock"); ok {
		t.Error("Release left the lock object")
	}
	l, err := AcquireIn(bg, b, "pr1")
	must(t, err)
	must(t, l.Release())
}

// A lock whose holder stopped renewing (killed) is taken over once its lease has passed on
// S3's clock, not before; the dead holder's late release leaves the new lock alone.
func TestS3LapsedLockIsTakenOverAfterItsLease(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 4, 30, 0, 0, time.UTC)}
	fake := newFakeS3(clock.Now)
	dead := fakeBackend(fake, time.Minute, clock.Now)
	old, err := AcquireIn(bg, dead, "pr1")
	must(t, err)

	taker := fakeBackend(fake, 10*time.Minute, clock.Now) // the holder's lease counts, not the taker's
	clock.Advance(59 * time.Second)
	var locked *LockedError
	if _, err := AcquireIn(bg, taker, "pr1"); !errors.As(err, &locked) {
		t.Fatalf("within the lease: %v", err)
	}
	clock.Advance(time.Second)
	l, err := AcquireIn(bg, taker, "pr1")
	if err != nil {
		t.Fatalf("after the lease: %v", err)
	}
	if prev, ok := l.Replaced(); !ok || prev.PID != whoAmI().PID || !prev.Expires.Equal(clock.Now()) {
		t.Errorf("Replaced = %+v, %v", prev, ok)
	}
	took, _ := fake.object("ci/pr1.lock")
	if err := old.Release(); err == nil || !strings.Contains(err.Error(), "no longer this run's") {
		t.Errorf("the old holder's Release = %v", err)
	}
	if now, ok := fake.object("ci/pr1.lock"); !ok || now.etag != took.etag {
		t.Error("the old holder's release touched the new lock")
	}
	must(t, l.Release())
}

// Two takers read the same lapsed lock before either writes: exactly one replaces it, the
// other is refused naming the winner.
func TestS3TwoTakersOfALapsedLockOneWins(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 4, 30, 0, 0, time.UTC)}
	fake := newFakeS3(clock.Now)
	_, err := AcquireIn(bg, fakeBackend(fake, time.Minute, clock.Now), "pr1") // its holder "dies": never renewed
	must(t, err)
	clock.Advance(2 * time.Minute)

	var bothRead sync.WaitGroup
	bothRead.Add(2)
	type outcome struct {
		lock *Lock
		err  error
	}
	outcomes := make(chan outcome, 2)
	var gets sync.Mutex
	reads := 0
	fake.afterGet = func(key string) {
		gets.Lock()
		reads++
		first2 := reads <= 2
		gets.Unlock()
		if first2 && key == "ci/pr1.lock" {
			bothRead.Done()
			bothRead.Wait()
		}
	}
	for range 2 {
		go func() {
			l, err := AcquireIn(bg, fakeBackend(fake, time.Minute, clock.Now), "pr1")
			outcomes <- outcome{l, err}
		}()
	}
	a, b := <-outcomes, <-outcomes
	if a.err != nil {
		a, b = b, a
	}
	var locked *LockedError
	if a.err != nil || !errors.As(b.err, &locked) {
		t.Fatalf("outcomes: %v and %v; want one lock and one refusal", a.err, b.err)
	}
	if _, ok := a.lock.Replaced(); !ok {
		t.Error("the winner did not report the lock it replaced")
	}
	if locked.Holder.Expires.Before(clock.Now()) {
		t.Errorf("the loser was refused by the lapsed lock, not the winner's: %+v", locked.Holder)
	}
	must(t, a.lock.Release())
}

// The holder renews its lease while it runs; a lock broken meanwhile is noticed at the next
// renewal and reported, and the release then deletes nothing.
func TestS3LockIsRenewedAndABreakIsNoticed(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, 400*time.Millisecond, time.Now)
	l, err := AcquireIn(bg, b, "pr1")
	must(t, err)
	first, _ := fake.object("ci/pr1.lock")
	time.Sleep(350 * time.Millisecond) // three renewals at 100 ms
	renewed, ok := fake.object("ci/pr1.lock")
	if !ok || renewed.etag == first.etag {
		t.Fatal("the lock was not renewed")
	}
	if l.LostErr() != nil {
		t.Fatalf("lost while renewing: %v", l.LostErr())
	}
	var body lockBody
	must(t, json.Unmarshal(renewed.raw, &body))
	if !body.Expires.After(body.Renewed) || body.LeaseSeconds != 0.4 {
		t.Errorf("renewed body %+v", body)
	}

	h, found, err := Break(bg, b, "pr1")
	must(t, err)
	if !found || h.PID != whoAmI().PID {
		t.Errorf("Break = %+v, %v", h, found)
	}
	select {
	case <-l.Lost():
	case <-time.After(2 * time.Second):
		t.Fatal("the broken lock was not noticed")
	}
	if msg := l.LostErr().Error(); !strings.Contains(msg, "was broken") {
		t.Errorf("LostErr = %q", msg)
	}
	// Someone else takes it; the first holder's release must leave it.
	other, err := AcquireIn(bg, b, "pr1")
	must(t, err)
	must(t, l.Release())
	if _, ok := fake.object("ci/pr1.lock"); !ok {
		t.Fatal("the lost holder's release deleted the new lock")
	}
	must(t, other.Release())
	if _, found, err := Break(bg, b, "pr1"); found || err != nil {
		t.Errorf("Break of no lock = %v, %v", found, err)
	}
}

// A lock object that is not tapctl's is not trusted, and lapses a lease after it was written.
func TestS3UnreadableLockLapsesAfterALease(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 4, 30, 0, 0, time.UTC)}
	fake := newFakeS3(clock.Now)
	b := fakeBackend(fake, time.Minute, clock.Now)
	fake.set("ci/pr1.lock", []byte("garbage"))
	var locked *LockedError
	if _, err := AcquireIn(bg, b, "pr1"); !errors.As(err, &locked) || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("Acquire over a foreign lock object = %v", err)
	}
	clock.Advance(time.Minute)
	l, err := AcquireIn(bg, b, "pr1")
	must(t, err)
	must(t, l.Release())
}

// A lock put whose answer was lost and was resent meets its own lock: it is this run's.
func TestS3ResentLockPutIsOurOwn(t *testing.T) {
	fake := newFakeS3(time.Now)
	b := fakeBackend(fake, time.Minute, time.Now)
	fake.loseNextPutAnswer = true
	l, err := AcquireIn(bg, b, "pr1")
	if err != nil {
		t.Fatalf("Acquire after a lost answer: %v", err)
	}
	must(t, l.Release())
	if _, ok := fake.object("ci/pr1.lock"); ok {
		t.Error("the lock was not released")
	}
}
