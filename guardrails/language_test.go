package guardrails

import "testing"

func TestDetectLanguage(t *testing.T) {
	for text, want := range map[string]string{
		"The update broke everything and it is not working for me":       "en",
		"Das Update hat alles kaputt gemacht und es ist nicht mehr gut":  "de",
		"La mise à jour a tout cassé et je ne sais pas pour le moment":   "fr",
		"La actualización lo rompió todo y no sé qué hacer con el móvil": "es",
		"Обновление всё сломало, ничего не работает":                     "ru",
		"アップデートですべてが壊れました":                                               "ja",
		"更新把一切都弄坏了":                                                      "zh",
		"ok":                                                             "",
	} {
		if got := DetectLanguage(text); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
	allow := Language{Allow: []string{"en", "de"}}
	if len(allow.Scan("Обновление всё сломало, ничего не работает")) != 1 || len(allow.Scan("the update is not working for me")) != 0 {
		t.Error("allow-list")
	}
}
