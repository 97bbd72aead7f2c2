package detectors

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/sieve-stream/sieve/internal/onnxrt"
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
	// Models is the folder of the pretrained vision models (NSFW, OCR);
	// default: $SIEVE_VISION_MODELS, else .cache/vision, where `make
	// vision-models` (and `make test`) installs them. Without the files
	// NSFW and OCR are off, said once in the log.
	Models string `yaml:"models"`
	// NSFW classifies every image as drawing, hentai, neutral, porn or
	// sexy (nsfwjs, converted to ONNX).
	NSFW NSFWConfig `yaml:"nsfw"`
	// OCR reads the text in images (PaddleOCR PP-OCRv4) and classifies it
	// with the text models, as a part of the message (source "ocr").
	OCR OCRConfig `yaml:"ocr"`
}

// NSFWConfig is the NSFW image classifier of the media stage.
type NSFWConfig struct {
	Disabled bool `yaml:"disabled"` // turns NSFW classification off
	// Model is mobilenet_v2 (224x224, the default), inception_v3 (299x299,
	// slower, a little more accurate) or the path of a converted nsfwjs
	// ONNX file.
	Model string `yaml:"model"`
	// Threshold: an image whose porn and hentai probabilities add up to at
	// least this flags the message "sexual" (default 0.7).
	Threshold float64 `yaml:"threshold"`
	// Report: porn, hentai and sexy each become a finding with their
	// score from this probability up (default 0.2).
	Report float64 `yaml:"report"`
	// BatchSize caps the images of one ONNX Runtime run (default 16).
	BatchSize int `yaml:"batch_size"`
	// Library is libonnxruntime's path; default as for onnx classifiers.
	Library        string `yaml:"library"`
	onnxrt.Options `yaml:",inline"`
}

// OCRConfig is the image-text reader of the media stage.
type OCRConfig struct {
	Disabled bool `yaml:"disabled"` // turns OCR off
	// MaxBoxes caps the text boxes read per image, the most confident
	// first (default 50).
	MaxBoxes int `yaml:"max_boxes"`
	// MaxPixels skips OCR, with an "ocr"/"skipped" finding, for larger
	// images (default 16,000,000).
	MaxPixels int `yaml:"max_pixels"`
	// MaxSide is the longest side the text detector sees; larger images
	// are shrunk first (default 960).
	MaxSide int `yaml:"max_side"`
	// Library is libonnxruntime's path; default as for onnx classifiers.
	Library        string `yaml:"library"`
	onnxrt.Options `yaml:",inline"`
}

// LearnedConfig names an image classifier directory (model.onnx,
// config.json, preprocessor_config.json) and the labels that count as
// findings.
type LearnedConfig struct {
	Dir       string   `yaml:"dir"`       // directory of an image classifier exported to ONNX (model.onnx, config.json)
	Positive  []string `yaml:"positive"`  // labels of the model that mean synthetic
	Threshold float64  `yaml:"threshold"` // score over which a positive label is a finding
	Library   string   `yaml:"library"`   // libonnxruntime's path; default as for onnx classifiers
	// Provider, device_id and threads choose where the model runs.
	onnxrt.Options `yaml:",inline"`
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
	if c.NSFW.Model == "" {
		c.NSFW.Model = "mobilenet_v2"
	}
	if c.NSFW.Threshold == 0 {
		c.NSFW.Threshold = 0.7
	}
	if c.NSFW.Report == 0 {
		c.NSFW.Report = 0.2
	}
	if c.NSFW.BatchSize == 0 {
		c.NSFW.BatchSize = 16
	}
	if c.OCR.MaxBoxes == 0 {
		c.OCR.MaxBoxes = 50
	}
	if c.OCR.MaxPixels == 0 {
		c.OCR.MaxPixels = 16_000_000
	}
	if c.OCR.MaxSide == 0 {
		c.OCR.MaxSide = 960
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
	if t := c.NSFW.Threshold; t < 0 || t > 1 {
		return fmt.Errorf("media.nsfw.threshold: %v is not in [0, 1] (it bounds porn+hentai)", t)
	}
	if r := c.NSFW.Report; r < 0 || r > 1 {
		return fmt.Errorf("media.nsfw.report: %v is not in [0, 1]", r)
	}
	if c.NSFW.BatchSize < 0 || c.OCR.MaxBoxes < 0 || c.OCR.MaxPixels < 0 || c.OCR.MaxSide < 0 {
		return errors.New("media.nsfw.batch_size, media.ocr.max_boxes, media.ocr.max_pixels and media.ocr.max_side must not be negative")
	}
	if err := c.Learned.Options.Validate("media.learned"); err != nil {
		return err
	}
	if err := c.NSFW.Options.Validate("media.nsfw"); err != nil {
		return err
	}
	if err := c.OCR.Options.Validate("media.ocr"); err != nil {
		return err
	}
	if c.MaxBytes < 0 || c.MaxPixels < 0 || c.FetchTimeout < 0 ||
		c.MaxMedia < 0 || c.MaxDecodeBytes < 0 || c.MessageTimeout < 0 {
		return errors.New("media: max_bytes, max_pixels, fetch_timeout, max_media, max_decode_bytes and message_timeout must not be negative")
	}
	return nil
}
