// Package redistest runs a real redis-server: for tests, the one at
// $SIEVE_REDIS_ADDR or one it starts on a free port and stops at cleanup;
// for `sieve bench soak`, one it restarts on the same port.
package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Process is a redis-server on a port of its own, empty at each start.
type Process struct {
	Addr string
	port int
	dir  string
	cmd  *exec.Cmd
}

// NewProcess starts redis-server on a free port, keeping its files in dir.
func NewProcess(dir string) (*Process, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server is not installed: run ./scripts/test-deps.sh (make test does) or set SIEVE_REDIS_ADDR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &Process{Addr: "127.0.0.1:" + strconv.Itoa(port), port: port, dir: dir}
	return p, p.Start()
}

// Start starts the server again on the same port, empty, and waits until
// it listens.
func (p *Process) Start() error {
	p.cmd = exec.Command("redis-server", "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir)
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not listen on %s", p.Addr)
}

// Stop kills the server (as a crash would).
func (p *Process) Stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// Server is a redis-server a test may stop and restart.
type Server struct {
	Addr string
	p    *Process // nil for the server at $SIEVE_REDIS_ADDR
	t    testing.TB
}

// Start returns a running redis-server for t. Tests that stop the server
// need one of their own: pass own=true to ignore $SIEVE_REDIS_ADDR.
func Start(t testing.TB, own bool) *Server {
	t.Helper()
	if addr := os.Getenv("SIEVE_REDIS_ADDR"); addr != "" && !own {
		return &Server{Addr: addr, t: t}
	}
	p, err := NewProcess(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: p.Addr, p: p, t: t}
	t.Cleanup(s.Stop)
	return s
}

// Stop kills the server (as a crash would).
func (s *Server) Stop() {
	if s.p != nil {
		s.p.Stop()
	}
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	if s.p == nil {
		s.t.Fatal("cannot restart a server this test did not start")
	}
	if err := s.p.Start(); err != nil {
		s.t.Fatal(err)
	}
}
