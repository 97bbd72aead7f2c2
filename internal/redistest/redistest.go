// Package redistest gives tests a real redis-server: the one at
// $SIEVE_REDIS_ADDR, or one it starts on a free port and stops at cleanup.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Server is a redis-server a test may stop and restart.
type Server struct {
	Addr string
	port int
	dir  string
	cmd  *exec.Cmd
	t    testing.TB
}

// Start returns a running redis-server for t. Tests that stop the server
// need one of their own: pass own=true to ignore $SIEVE_REDIS_ADDR.
func Start(t testing.TB, own bool) *Server {
	t.Helper()
	if addr := os.Getenv("SIEVE_REDIS_ADDR"); addr != "" && !own {
		return &Server{Addr: addr, t: t}
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed: run ./scripts/test-deps.sh (make test does) or set SIEVE_REDIS_ADDR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), port: port, dir: t.TempDir(), t: t}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Stop kills the server (as a crash would).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	if s.port == 0 {
		s.t.Fatal("cannot restart a server this test did not start")
	}
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatal(fmt.Sprintf("redis-server did not listen on %s", s.Addr))
}
