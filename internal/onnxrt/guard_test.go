package onnxrt

import (
	"errors"
	"testing"
)

func TestGuardDestroysOnceAfterRuns(t *testing.T) {
	var g Guard
	calls := 0
	destroy := func() error { calls++; return errors.New("first") }
	if !g.Enter() {
		t.Fatal("a new guard refused a run")
	}
	closed := make(chan error)
	go func() { closed <- g.Close(destroy) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a run was in progress")
	default:
	}
	g.Exit()
	if err := <-closed; err == nil || calls != 1 {
		t.Fatalf("Close = %v after %d destroys, want destroy's error after 1", err, calls)
	}
	if g.Enter() {
		t.Fatal("a closed guard let a run in")
	}
	if err := g.Close(destroy); err != nil || calls != 1 {
		t.Fatalf("second Close = %v after %d destroys, want nil after 1", err, calls)
	}
}
