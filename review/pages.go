package review

import (
	"html/template"
	"regexp"
	"strconv"
	"strings"

	"github.com/sieve-stream/sieve/contract"
)

// pages are the console's templates: server-rendered HTML and a little
// vanilla JavaScript for the keyboard, no build step.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"pct":      func(f float64) string { return template.HTMLEscapeString(fmtPct(f)) },
	"mediaSrc": mediaSrc,
}).Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sieve review</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1d1d1f}
header{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;background:#22303c;color:#fff}
header a,header button{color:#cfe3ff;background:none;border:0;font:inherit;cursor:pointer;text-decoration:none}
main{max-width:62em;margin:1.2em auto;padding:0 1em}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1.2em;margin-bottom:1em}
.text{font-size:1.15em;white-space:pre-wrap}
mark{background:#ffd54f;padding:0 .1em}
table{border-collapse:collapse;width:100%}td,th{padding:.25em .5em;border-bottom:1px solid #eee;text-align:left}
.flagged{font-weight:600;color:#b3261e}
.kbd{display:inline-block;border:1px solid #bbb;border-bottom-width:2px;border-radius:4px;padding:0 .35em;font:12px monospace;background:#fafafa}
img.media{max-width:100%;max-height:22em;cursor:pointer;transition:filter .2s}
img.blurred{filter:blur(24px)}
#help{display:none;position:fixed;right:1em;bottom:1em;background:#fff;border:1px solid #999;padding:1em;border-radius:8px}
#help.open{display:block}
.buttons button{font-size:1em;margin-right:.5em;padding:.4em .9em}
textarea{width:100%;min-height:5em;font:inherit}
.muted{color:#666}
</style></head><body>
<header><strong>Sieve review</strong>{{if .Reviewer}}<span class="muted">{{.Reviewer}}</span><a href="/">queue</a>
{{if .Admin}}<a href="/health">queue health</a><a href="/reviewers">reviewers</a>{{end}}
<form method="post" action="/logout" style="margin-left:auto"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>log out</button></form>{{end}}</header><main>
{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<div class="card"><h2>Log in</h2>
{{if .Error}}<p class="flagged">That key is not known.</p>{{end}}
<form method="post" action="/login"><label>Key <input type="password" name="key" id="key" autofocus autocomplete="off"></label>
<button id="login">Log in</button></form></div>
{{template "foot"}}{{end}}

{{define "item"}}{{template "head" .}}
{{with .Item}}
<div class="card" id="item" data-id="{{.ID}}">
<div class="muted">message {{.ID}}{{with .Message.Author}} · author {{.}}{{end}}{{with .Message.Channel}} · {{.}}{{end}} · model decision <b>{{.Decision}}</b> · claimed for {{$.Lease}}</div>
<p class="text" id="text">{{range $.Spans}}{{if .Hot}}<mark>{{.Text}}</mark>{{else}}{{.Text}}{{end}}{{end}}</p>
{{range $i, $m := $.Media}}{{with mediaSrc $m}}<img class="media{{if $.Blur}} blurred{{end}}" data-media="{{$i}}" src="{{.}}" alt="media {{$i}}" onclick="this.classList.remove('blurred')">{{else}}{{with $m.URL}}<p class="muted">media {{$i}}: {{.}} (not loaded: opening it from here would tell the poster your address)</p>{{end}}{{end}}{{end}}
</div>
<form method="post" action="/decide" id="decide" class="card">
<input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="claim" value="{{$.Claim}}">
<input type="hidden" name="decision" id="decision" value=""><input type="hidden" name="edited" id="edited" value="0">
<table><tr><th>key</th><th>label</th><th>score</th><th>the text has it</th></tr>
{{range $.Labels}}<tr><td>{{if le .N 9}}<span class="kbd">{{.N}}</span>{{end}}</td><td class="{{if .Flagged}}flagged{{end}}">{{.Name}}</td><td>{{printf "%.3f" .Score}}</td>
<td><input type="checkbox" name="label" value="{{.Name}}" data-n="{{.N}}"{{if .Flagged}} checked{{end}}></td></tr>{{end}}</table>
{{if .Signals}}<p class="muted">signals: {{range $k, $v := .Signals}}{{$k}} {{printf "%.0f" $v}} · {{end}}</p>{{end}}
{{if .Findings}}<p class="muted">findings: {{range .Findings}}{{.Detector}} {{.Signal}}{{with .Detail}} ({{.}}){{end}} · {{end}}</p>{{end}}
<p><label>Rewrite <span class="kbd">e</span><textarea name="rewrite" id="rewrite" oninput="document.getElementById('edited').value='1'">{{with .Rewrite}}{{.}}{{end}}</textarea></label></p>
<p class="buttons"><button type="submit" data-decision="allow">Allow <span class="kbd">a</span></button>
<button type="submit" data-decision="block">Block <span class="kbd">b</span></button>
<button type="submit" data-decision="rewrite">Rewrite</button>
<button type="button" id="skipbtn">Skip <span class="kbd">s</span></button> <span class="muted">help <span class="kbd">?</span></span></p>
</form>
<form method="post" action="/skip" id="skip"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"></form>
<div id="help"><b>Keys</b><br><span class="kbd">a</span> allow · <span class="kbd">b</span> block · <span class="kbd">1</span>–<span class="kbd">9</span> toggle a label<br>
<span class="kbd">e</span> edit the rewrite (<span class="kbd">Esc</span> leaves it) · <span class="kbd">Ctrl</span>+<span class="kbd">Enter</span> rewrite with the edit<br><span class="kbd">s</span> skip · <span class="kbd">?</span> this help</div>
<script>
(function(){
  var form = document.getElementById('decide');
  function decide(d){ document.getElementById('decision').value = d; form.submit(); }
  form.addEventListener('submit', function(e){ var b = e.submitter; if (b && b.dataset.decision) document.getElementById('decision').value = b.dataset.decision; });
  document.getElementById('skipbtn').onclick = function(){ document.getElementById('skip').submit(); };
  document.addEventListener('keydown', function(e){
    var t = e.target.tagName;
    if (t === 'TEXTAREA' || t === 'INPUT' && e.target.type !== 'checkbox') {
      if (e.key === 'Escape') e.target.blur();
      if (e.key === 'Enter' && e.ctrlKey) decide('rewrite');
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'a') decide('allow');
    else if (e.key === 'b') decide('block');
    else if (e.key === 's') document.getElementById('skip').submit();
    else if (e.key === 'e') { e.preventDefault(); document.getElementById('rewrite').focus(); }
    else if (e.key === '?') document.getElementById('help').classList.toggle('open');
    else if (e.key >= '1' && e.key <= '9') { var c = form.querySelector('input[data-n="' + e.key + '"]'); if (c) c.checked = !c.checked; }
  });
})();
</script>
{{else}}<div class="card" id="empty"><h2>The queue is empty</h2><p class="muted">New items appear as the review route sends them. <a href="/">Refresh</a></p></div>{{end}}
{{template "foot"}}{{end}}

{{define "health"}}{{template "head" .}}
<div class="card"><h2>Queue health</h2><table>
<tr><td>depth (waiting)</td><td id="depth">{{.H.Depth}}</td></tr>
<tr><td>claimed now</td><td>{{.H.Held}}</td></tr>
<tr><td>age of the oldest item</td><td>{{.Oldest}}</td></tr>
<tr><td>decisions</td><td id="decided">{{.Total}}</td></tr>
<tr><td>decisions per hour</td><td>{{printf "%.1f" .PerHour}}</td></tr>
<tr><td>agreement with the model</td><td>{{pct .Agreement}}</td></tr></table></div>
{{template "foot"}}{{end}}

{{define "reviewers"}}{{template "head" .}}
<div class="card"><h2>Reviewers</h2><table><tr><th>reviewer</th><th>decisions</th><th>per hour</th><th>agreement with the model</th><th>items also decided by others</th><th>agreement with them</th></tr>
{{range .Rows}}<tr><td>{{.ID}}</td><td>{{.Decisions}}</td><td>{{printf "%.1f" .PerHour}}</td><td>{{pct .AgreeModel}}</td><td>{{.Shared}}</td><td>{{pct .AgreeOthersShare}}</td></tr>{{end}}
</table></div>
{{template "foot"}}{{end}}
`))

func fmtPct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// mediaSrc is the inline data of an image medium as a data: URL. Media
// given by URL are not loaded: the request would tell the poster the
// moderator's address; the page names them instead.
func mediaSrc(m contract.Media) template.URL {
	switch {
	case m.Data != "" && strings.HasPrefix(m.MIME, "image/") && base64Data.MatchString(m.Data):
		return template.URL("data:" + m.MIME + ";base64," + m.Data)
	}
	return ""
}

var base64Data = regexp.MustCompile(`^[A-Za-z0-9+/]+={0,2}$`)
