package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/internal/telemetry"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
)

// loadConfig loads path, or the defaults when path is empty. A bad config
// is a usage error naming the file and field.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// signalContext is cancelled by SIGINT or SIGTERM; a second signal exits
// at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			return
		}
		<-ch
		os.Exit(1)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// observability sets up logging, metrics and the HTTP server of cfg.
type observability struct {
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *pipeline.Metrics
	server  *telemetry.Server
}

func observe(cfg *config.Config, logOut io.Writer) (*observability, error) {
	o := &observability{log: telemetry.NewLogger(logOut, cfg.Log.Format, cfg.Log.Level), reg: telemetry.NewRegistry()}
	o.metrics = pipeline.NewMetrics(o.reg)
	if cfg.HTTP.Addr != "" {
		s, err := telemetry.Listen(cfg.HTTP.Addr, o.reg)
		if err != nil {
			return nil, err
		}
		o.server = s
		o.log.Info("serving metrics and health", "addr", "http://"+s.Addr())
	}
	return o, nil
}

func (o *observability) ready(ok bool) {
	if o.server != nil {
		o.server.SetReady(ok)
	}
}

func (o *observability) close() {
	if o.server != nil {
		_ = o.server.Shutdown(context.Background())
	}
}

// serveUntilSignal serves hs on ln until SIGINT/SIGTERM, then shuts it down,
// giving requests in flight ten seconds to finish.
func serveUntilSignal(hs *http.Server, ln net.Listener) error {
	ctx, cancel := signalContext()
	defer cancel()
	go func() {
		<-ctx.Done()
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startKafkaCommand is the start of every command that talks to Kafka: the
// config must name brokers (or the embedded one), logs and metrics are
// set up, the embedded broker starts when asked for. stop undoes it all.
func startKafkaCommand(cfg *config.Config, path string, stderr io.Writer) (*observability, []string, func(), error) {
	if err := cfg.Kafka.RequireBrokers(); err != nil {
		return nil, nil, nil, usagef("%s: %w", path, err)
	}
	obs, err := observe(cfg, stderr)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	brokers, stopBroker, err := service.Brokers(cfg)
	if err != nil {
		obs.close()
		return nil, nil, nil, err
	}
	return obs, brokers, func() { stopBroker(); obs.close() }, nil
}
