package service

import (
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
)

// ErrNoShadow is returned by Promote for a config without a shadow
// classifier.
var ErrNoShadow = errors.New("no classifier has shadow: true")

// Promote rewrites sieve.yaml (data, parsed as cfg) so that every shadow
// classifier goes live and replaces the live classifiers whose labels it
// all covers. The rest of the file keeps its content and comments (yaml
// may re-indent it).
// A member started on the result scores with the new model; the verdict
// cache keys carry the model versions, so no old score is served for it.
func Promote(data []byte, cfg *config.Config) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, ErrNoShadow
	}
	root := doc.Content[0]
	var seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "classifiers" {
			seq = root.Content[i+1]
		}
	}
	if seq == nil || seq.Kind != yaml.SequenceNode || len(seq.Content) != len(cfg.Classifiers) {
		return nil, ErrNoShadow
	}
	labels := make([][]string, len(cfg.Classifiers))
	var shadows []int
	for i, cc := range cfg.Classifiers {
		live := cc
		live.Shadow = false
		c, err := live.New()
		if err != nil {
			return nil, fmt.Errorf("classifiers[%d].%w", i, err)
		}
		if c != nil {
			labels[i] = c.Describe().Labels
			_ = classifiers.CloseAll([]classifiers.Classifier{c})
		}
		if cc.Shadow {
			shadows = append(shadows, i)
		}
	}
	if len(shadows) == 0 {
		return nil, ErrNoShadow
	}
	drop := map[int]bool{}
	for _, s := range shadows {
		for j, cc := range cfg.Classifiers {
			if cc.Shadow || len(labels[j]) == 0 {
				continue
			}
			if !slices.ContainsFunc(labels[j], func(l string) bool { return !slices.Contains(labels[s], l) }) {
				drop[j] = true
			}
		}
		entry := seq.Content[s]
		for k := 0; k+1 < len(entry.Content); k += 2 {
			if entry.Content[k].Value == "shadow" {
				entry.Content = append(entry.Content[:k], entry.Content[k+2:]...)
				break
			}
		}
	}
	var keep []*yaml.Node
	for i, n := range seq.Content {
		if !drop[i] {
			keep = append(keep, n)
		}
	}
	seq.Content = keep
	return yaml.Marshal(&doc)
}
