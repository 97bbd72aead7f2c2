// Package deploy holds Sieve's deployment files (compose, Dockerfile,
// Kubernetes, the Grafana dashboard, the Prometheus rules) and reads the
// one whose contents tests check against running code: the dashboard.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
)

// Dashboard is what a Grafana dashboard JSON says of its panels.
type Dashboard struct {
	UID    string  `json:"uid"`
	Panels []Panel `json:"panels"`
}

// Panel is one panel (or row) and its queries.
type Panel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// ReadDashboard reads a dashboard file.
func ReadDashboard(path string) (*Dashboard, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}
