package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sieve-stream/sieve/bench"
	"github.com/sieve-stream/sieve/config"
)

// runBenchSoak is `sieve bench soak`: member processes of `sieve run` under
// SIGKILLs and Redis restarts, every output read back (make soak).
func runBenchSoak(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench soak", stderr)
	n := fs.Int("messages", 10_000_000, "messages to seed and run through")
	members := fs.Int("members", 2, "member processes")
	delivery := fs.String("delivery", config.AtLeastOnce, "at_least_once or exactly_once")
	killEvery := fs.Duration("kill-every", 30*time.Second, "SIGKILL one member (in turn) this often and start it again; 0: never")
	redisEvery := fs.Duration("redis-every", 60*time.Second, "restart redis-server this often; 0: never")
	timeout := fs.Duration("timeout", 2*time.Hour, "give up after this long")
	dir := fs.String("dir", "", "where the members' configs and logs go (default: a temporary folder, removed after a clean run)")
	asJSON := fs.Bool("json", false, "print the result as JSON (last line)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *delivery != config.AtLeastOnce && *delivery != config.ExactlyOnce {
		return usagef("--delivery: %q is not at_least_once or exactly_once", *delivery)
	}
	if *n <= 0 || *members <= 0 {
		return usagef("--messages and --members must be positive")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	keep := *dir != ""
	if !keep {
		if *dir, err = os.MkdirTemp("", "sieve-soak-"); err != nil {
			return err
		}
	}
	progress := stdout
	if *asJSON {
		progress = io.Discard
	}
	ctx, cancel := signalContext()
	defer cancel()
	res, err := bench.Soak(ctx, bench.SoakOptions{Binary: exe, Messages: *n, Members: *members, Delivery: *delivery,
		KillEvery: *killEvery, RedisEvery: *redisEvery, Dir: *dir, Timeout: *timeout, Progress: progress})
	if err != nil {
		return fmt.Errorf("%w (member logs in %s)", err, *dir)
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "soak:        %d messages, %s, %d members, %.0fs (%.0f msgs/s)\n", res.Messages, res.Delivery, *members, res.Seconds, res.MsgsPerSec)
		fmt.Fprintf(stdout, "faults:      %d SIGKILLs, %d Redis restarts\n", res.Kills, res.RedisRuns)
		fmt.Fprintf(stdout, "outputs:     %d missing, %d duplicates\n", res.Missing, res.Duplicates)
		fmt.Fprintf(stdout, "peak RSS:    %v MiB per member slot\n", res.PeakRSSMB)
	}
	if res.Missing > 0 {
		return fmt.Errorf("%d messages missing (member logs in %s)", res.Missing, *dir)
	}
	if res.Delivery == config.ExactlyOnce && res.Duplicates > 0 {
		return fmt.Errorf("%d duplicates in exactly-once mode (member logs in %s)", res.Duplicates, *dir)
	}
	if !keep {
		os.RemoveAll(*dir)
	}
	return nil
}
