package detectors

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Generator names the image-generation tool whose metadata a file carries.
type Generator struct {
	Tool  string `json:"tool"`
	Model string `json:"model,omitempty"`
	Seed  string `json:"seed,omitempty"`
	// Via says where the metadata hid when it was not in a text chunk:
	// "exif_user_comment" or "stealth_pnginfo".
	Via string `json:"via,omitempty"`
}

var (
	a1111Seed  = regexp.MustCompile(`(?:^|[\s,])Seed: (\d+)`)
	a1111Model = regexp.MustCompile(`(?:^|[\s,])Model: ([^,\n]+)`)
	dreamSeed  = regexp.MustCompile(`(?:^|\s)-S\s*(\d+)`)
)

// detectGenerator recognises the text chunks (or EXIF UserComment) written
// by the common Stable Diffusion front ends. The order matters: Fooocus
// writes a "parameters" chunk too, and InvokeAI 2.x writes "Dream" beside
// "sd-metadata".
func detectGenerator(text map[string]string, userComment, software string) *Generator {
	if p, ok := text["parameters"]; ok {
		if text["fooocus_scheme"] != "" || looksJSON(p) {
			var v map[string]any
			if json.Unmarshal([]byte(p), &v) == nil {
				return &Generator{Tool: "Fooocus", Model: str(v["base_model"]), Seed: str(v["seed"])}
			}
		}
		if g := a1111(p); g != nil {
			return g
		}
	}
	if s, ok := text["invokeai_metadata"]; ok {
		g := &Generator{Tool: "InvokeAI"}
		var v map[string]any
		if json.Unmarshal([]byte(s), &v) == nil {
			g.Seed = str(v["seed"])
			if m, ok := v["model"].(map[string]any); ok {
				g.Model = cmp.Or(str(m["model_name"]), str(m["name"]))
			}
		}
		return g
	}
	if s, ok := text["sd-metadata"]; ok {
		g := &Generator{Tool: "InvokeAI"}
		var v map[string]any
		if json.Unmarshal([]byte(s), &v) == nil {
			g.Model = str(v["model_weights"])
			if img, ok := v["image"].(map[string]any); ok {
				g.Seed = str(img["seed"])
			}
		}
		return g
	}
	if s, ok := text["Dream"]; ok {
		g := &Generator{Tool: "InvokeAI"}
		if m := dreamSeed.FindStringSubmatch(s); m != nil {
			g.Seed = m[1]
		}
		return g
	}
	if p, ok := text["prompt"]; ok && looksJSON(p) {
		if g := comfy(p); g != nil {
			return g
		}
	}
	if _, ok := text["workflow"]; ok {
		return &Generator{Tool: "ComfyUI"}
	}
	if text["Software"] == "NovelAI" || software == "NovelAI" {
		g := &Generator{Tool: "NovelAI", Model: text["Source"]}
		var v map[string]any
		if json.Unmarshal([]byte(text["Comment"]), &v) == nil {
			g.Seed = str(v["seed"])
		}
		return g
	}
	if userComment != "" {
		if g := a1111(userComment); g != nil {
			g.Via = "exif_user_comment"
			return g
		}
	}
	return nil
}

// a1111 reads the AUTOMATIC1111 "parameters" text: prompt lines, then a
// "Steps: ..., Seed: ..., Model: ..." settings line.
func a1111(p string) *Generator {
	if !strings.Contains(p, "Steps: ") {
		return nil
	}
	g := &Generator{Tool: "AUTOMATIC1111"}
	if m := a1111Seed.FindStringSubmatch(p); m != nil {
		g.Seed = m[1]
	}
	if m := a1111Model.FindStringSubmatch(p); m != nil {
		g.Model = strings.TrimSpace(m[1])
	}
	return g
}

// comfy reads a ComfyUI API graph: node id → {class_type, inputs}.
func comfy(p string) *Generator {
	var nodes map[string]struct {
		Class  string         `json:"class_type"`
		Inputs map[string]any `json:"inputs"`
	}
	if json.Unmarshal([]byte(p), &nodes) != nil {
		return nil
	}
	// Node ids are numbers as strings; walking them in numeric order makes
	// the reported checkpoint and seed the same on every run.
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if len(ids[i]) != len(ids[j]) {
			return len(ids[i]) < len(ids[j])
		}
		return ids[i] < ids[j]
	})
	g := &Generator{Tool: "ComfyUI"}
	found := false
	for _, id := range ids {
		n := nodes[id]
		if n.Class == "" {
			continue
		}
		found = true
		if c := str(n.Inputs["ckpt_name"]); c != "" && g.Model == "" {
			g.Model = c
		}
		for _, k := range []string{"seed", "noise_seed"} {
			if s := str(n.Inputs[k]); s != "" && g.Seed == "" {
				g.Seed = s
			}
		}
	}
	if !found {
		return nil
	}
	return g
}

func looksJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{")
}

// str renders scalar JSON values; graph links (arrays) and objects are not
// values and give "".
func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return fmt.Sprintf("%.0f", t)
	case json.Number:
		return t.String()
	}
	return ""
}
