// Package deploy_test checks what deploy/ holds without a Docker engine or
// a cluster: every YAML and JSON file parses; the compose project, the
// Kubernetes manifests and the configs they carry hold together; the
// Prometheus rules pass promtool's check and unit tests. That the metrics
// the dashboard and alerts name exist is checked against a running pipeline
// in cmd/sieve (TestDeployMetricsExported).
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/deploy"
	"github.com/sieve-stream/sieve/guardrails"
	"gopkg.in/yaml.v3"
)

// docs decodes every YAML document of path.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

func TestEveryFileParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			docs(t, path)
			n++
		case ".json":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(b) {
				t.Errorf("%s is not valid JSON", path)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Fatalf("only %d YAML/JSON files under deploy/", n)
	}
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func TestCompose(t *testing.T) {
	c := docs(t, "compose/compose.yaml")[0]
	services, _ := c["services"].(map[string]any)
	for _, name := range []string{"kafka", "redis", "sieve", "prometheus", "grafana", "model-server", "triton"} {
		s, ok := services[name].(map[string]any)
		if !ok {
			t.Fatalf("compose: no service %s", name)
		}
		if s["image"] == nil && s["build"] == nil {
			t.Errorf("compose: %s has neither image nor build", name)
		}
		// Every file the project mounts from the repository exists.
		vols, _ := s["volumes"].([]any)
		for _, v := range vols {
			src, _, _ := strings.Cut(v.(string), ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("compose: %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	if img := dig(services, "kafka", "image").(string); !strings.HasPrefix(img, "apache/kafka:") {
		t.Errorf("kafka image %s is not the official apache/kafka", img)
	}
	if roles := dig(services, "kafka", "environment", "KAFKA_PROCESS_ROLES"); roles != "broker,controller" {
		t.Errorf("kafka is not in KRaft combined mode: %v", roles)
	}
	b := dig(services, "sieve", "build").(map[string]any)
	if _, err := os.Stat(filepath.Join("compose", b["context"].(string), b["dockerfile"].(string))); err != nil {
		t.Errorf("sieve's Dockerfile: %v", err)
	}
	for _, p := range []string{"compose/sieve.yaml", "compose/model-server/sieve.yaml"} {
		if _, err := config.Load(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"onnxruntime-node@1.24.3", "libonnxruntime.so.1", "SIEVE_ONNXRUNTIME_LIB", "CGO_ENABLED=1", "./cmd/sieve", "USER nonroot", "ENTRYPOINT"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if n := strings.Count(s, "\nFROM "); n < 3 {
		t.Errorf("Dockerfile has %d stages, want the library, the build and the runtime", n)
	}
}

// kinds indexes the manifests by kind and name.
func kinds(t *testing.T) map[string]map[string]any {
	out := map[string]map[string]any{}
	entries, err := os.ReadDir("kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		for _, d := range docs(t, filepath.Join("kubernetes", e.Name())) {
			kind, _ := d["kind"].(string)
			name, _ := dig(d, "metadata", "name").(string)
			if kind == "" || name == "" {
				if kind != "Kustomization" {
					t.Errorf("%s: a document without kind or metadata.name", e.Name())
				}
				continue
			}
			out[kind+"/"+name] = d
		}
	}
	return out
}

func TestKubernetes(t *testing.T) {
	k := kinds(t)
	for _, want := range []string{"Deployment/sieve", "PodDisruptionBudget/sieve", "ScaledObject/sieve", "ConfigMap/sieve-config",
		"Deployment/sieve-proxy", "HorizontalPodAutoscaler/sieve-proxy", "Service/sieve-proxy"} {
		if k[want] == nil {
			t.Fatalf("no %s", want)
		}
	}
	// Every resource the kustomization lists exists.
	kust := docs(t, "kubernetes/kustomization.yaml")[0]
	for _, r := range kust["resources"].([]any) {
		if _, err := os.Stat(filepath.Join("kubernetes", r.(string))); err != nil {
			t.Errorf("kustomization: %v", err)
		}
	}
	for _, dep := range []string{"Deployment/sieve", "Deployment/sieve-proxy"} {
		c := dig(k[dep], "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
		if p := dig(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
			t.Errorf("%s: liveness probe on %v, want /healthz", dep, p)
		}
		if p := dig(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
			t.Errorf("%s: readiness probe on %v, want /readyz", dep, p)
		}
		if dig(c, "resources", "requests", "cpu") == nil || dig(c, "resources", "requests", "memory") == nil || dig(c, "resources", "limits", "memory") == nil {
			t.Errorf("%s: resources %v lack cpu/memory requests or a memory limit", dep, c["resources"])
		}
	}
	// The configs the ConfigMap carries load, and the scaler watches the
	// pipeline's own group and input, up to the partition count.
	cm := dig(k["ConfigMap/sieve-config"], "data").(map[string]any)
	dir := t.TempDir()
	for name, body := range cm {
		body := strings.ReplaceAll(body.(string), "/etc/sieve/", dir+"/")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := guardrails.LoadPolicy(filepath.Join(dir, "rails.yaml")); err != nil {
		t.Errorf("configmap rails.yaml: %v", err)
	}
	if _, err := config.Load(filepath.Join(dir, "proxy.yaml")); err != nil {
		t.Errorf("configmap proxy.yaml: %v", err)
	}
	cfg, err := config.Load(filepath.Join(dir, "sieve.yaml"))
	if err != nil {
		t.Fatalf("configmap sieve.yaml: %v", err)
	}
	so := k["ScaledObject/sieve"]
	trig := dig(so, "spec", "triggers").([]any)[0].(map[string]any)
	meta := trig["metadata"].(map[string]any)
	if trig["type"] != "kafka" || meta["consumerGroup"] != cfg.Kafka.Group || !slices.Contains(cfg.Kafka.Topics.Input, meta["topic"].(string)) {
		t.Errorf("ScaledObject trigger %v does not watch group %s on %v", trig, cfg.Kafka.Group, cfg.Kafka.Topics.Input)
	}
	if max := dig(so, "spec", "maxReplicaCount"); fmt.Sprint(max) != fmt.Sprint(cfg.Kafka.Partitions) {
		t.Errorf("ScaledObject maxReplicaCount %v, want the partition count %d", max, cfg.Kafka.Partitions)
	}
	grace := dig(k["Deployment/sieve"], "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	if float64(grace) <= cfg.Pipeline.ShutdownTimeout.Seconds() {
		t.Errorf("terminationGracePeriodSeconds %d leaves no room for shutdown_timeout %s", grace, cfg.Pipeline.ShutdownTimeout)
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (scripts/test-deps.sh installs Debian's prometheus package, which has it)")
	}
	return p
}

func TestAlertRules(t *testing.T) {
	pt := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yml"},
		{"test", "rules", "prometheus/alerts_test.yml"},
	} {
		out, err := exec.Command(pt, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The compose project's Prometheus config, with the rules where the
	// container mounts them.
	b, err := os.ReadFile("compose/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("prometheus/alerts.yml")
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, bytes.ReplaceAll(b, []byte("/etc/prometheus/alerts.yml"), []byte(abs)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pt, "check", "config", cfg).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

func TestDashboard(t *testing.T) {
	d, err := deploy.ReadDashboard("grafana/sieve.json")
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		titles = append(titles, strings.ToLower(p.Title))
	}
	all := strings.Join(titles, "|")
	// What the operator's issue asks the dashboard to show.
	for _, want := range []string{"records in", "end-to-end latency", "consumer lag", "batch size", "cache hit ratio",
		"dead letters by reason", "breaker state", "flag rate per label", "score distribution", "proxy blocks by rail"} {
		if !strings.Contains(all, want) {
			t.Errorf("dashboard has no %q panel", want)
		}
	}
	if d.UID == "" {
		t.Error("dashboard needs a stable uid for provisioning")
	}
}
