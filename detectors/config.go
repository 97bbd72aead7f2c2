package detectors

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config is the media section of sieve.yaml: the synthetic-media detectors
// that read every image a message carries (Stage).
type Config struct {
	Disabled bool `yaml:"disabled"` // turns the media stage off
	// FetchURLs loads media given by URL through the SSRF-safe fetcher;
	// off, URL media get an "unreadable" finding.
	FetchURLs bool `yaml:"fetch_urls"`
	// Allow lists address prefixes (CIDR) URL fetches may reach although
	// they are private, loopback or link-local.
	Allow []string `yaml:"allow"`
	// MaxBytes caps one image, inline or fetched (default 16 MiB).
	MaxBytes int `yaml:"max_bytes"`
	// MaxPixels refuses images whose header claims more pixels (default
	// 40,000,000).
	MaxPixels int `yaml:"max_pixels"`
	// FetchTimeout bounds one URL fetch (default 10s).
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// MaxMedia is how many images of one message are read (default 16);
	// MaxDecodeBytes its images' budget for decoded pixels (default 256
	// MiB); MessageTimeout bounds all its URL fetches together (default
	// 20s).
	MaxMedia       int           `yaml:"max_media"`
	MaxDecodeBytes int64         `yaml:"max_decode_bytes"`
	MessageTimeout time.Duration `yaml:"message_timeout"`
	// SkipWatermark turns off the invisible-watermark decoder, the one
	// media check that decodes pixels (tens of images/s per core instead of
	// thousands).
	SkipWatermark bool `yaml:"skip_watermark"`
	// Learned is the optional learned detector: a Hugging Face
	// image-classification export run on ONNX Runtime.
	Learned LearnedConfig `yaml:"learned"`
	// TrustAnchors is a PEM file of the CA certificates C2PA signers must
	// chain to for a manifest to count as from a trusted signer.
	TrustAnchors string `yaml:"trust_anchors"`
}

// LearnedConfig names an image classifier directory (model.onnx,
// config.json, preprocessor_config.json) and the labels that count as
// findings.
type LearnedConfig struct {
	Dir       string   `yaml:"dir"`       // directory of an image classifier exported to ONNX (model.onnx, config.json)
	Positive  []string `yaml:"positive"`  // labels of the model that mean synthetic
	Threshold float64  `yaml:"threshold"` // score over which a positive label is a finding
	Library   string   `yaml:"library"`   // libonnxruntime's path; default as for onnx classifiers
}

// EnsureDefaults fills unset fields with the limits' defaults, so that the
// reference shows them.
func (c *Config) EnsureDefaults() {
	l := Limits{MaxBytes: c.MaxBytes, MaxPixels: c.MaxPixels, MaxMedia: c.MaxMedia, MaxDecodeBytes: c.MaxDecodeBytes, MessageTimeout: c.MessageTimeout}
	l.EnsureDefaults()
	c.MaxBytes, c.MaxPixels, c.MaxMedia, c.MaxDecodeBytes, c.MessageTimeout = l.MaxBytes, l.MaxPixels, l.MaxMedia, l.MaxDecodeBytes, l.MessageTimeout
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 10 * time.Second
	}
}

// Validate returns the first bad field.
func (c *Config) Validate() error {
	for i, a := range c.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			return fmt.Errorf("media.allow[%d]: %q is not a CIDR prefix", i, a)
		}
	}
	if l := c.Learned; l.Dir != "" && len(l.Positive) == 0 {
		return errors.New("media.learned.positive: name the labels that mean generated (e.g. [fake])")
	}
	if l := c.Learned; l.Threshold < 0 || l.Threshold > 1 {
		return fmt.Errorf("media.learned.threshold: %v is not in [0, 1]", l.Threshold)
	}
	if c.MaxBytes < 0 || c.MaxPixels < 0 || c.FetchTimeout < 0 ||
		c.MaxMedia < 0 || c.MaxDecodeBytes < 0 || c.MessageTimeout < 0 {
		return errors.New("media: max_bytes, max_pixels, fetch_timeout, max_media, max_decode_bytes and message_timeout must not be negative")
	}
	return nil
}
